/** A file input that looks like the other buttons, and the field around it. */
import type { TargetedEvent } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { Icon } from "./icons.tsx";

/** What the callers set on the input itself. */
type InputProps = {
  id?: string;
  name?: string;
  accept?: string;
  multiple?: boolean;
  required?: boolean;
  disabled?: boolean;
  "aria-label"?: string;
  "aria-labelledby"?: string;
  onChange?(e: TargetedEvent<HTMLInputElement, Event>): void;
};

/**
 * A real `<input type="file">`, visually hidden but focusable (Tab reaches it, Enter or Space
 * opens the picker, the focus ring is drawn on the button), inside a label drawn as a button
 * with the chosen file's name beside it. The visible parts are hidden from assistive
 * technology: the input's own label (aria-label, aria-labelledby or a `<label for>`) names it,
 * and the input announces its own value.
 */
export function FileButton(props: InputProps & { text?: string }) {
  const { text, onChange, ...input } = props;
  const [chosen, setChosen] = useState("");
  const ref = useRef<HTMLInputElement>(null);
  // A form's reset clears the input without a change event.
  useEffect(() => {
    const form = ref.current?.form;
    const clear = () => setChosen("");
    form?.addEventListener("reset", clear);
    return () => form?.removeEventListener("reset", clear);
  }, []);
  return (
    <label class="file-button">
      <input
        {...input}
        ref={ref}
        type="file"
        class="visually-hidden"
        onChange={(e) => {
          setChosen([...(e.currentTarget.files ?? [])].map((f) => f.name).join(", "));
          onChange?.(e);
          // The handler may have refused the file and cleared the input.
          if (!e.currentTarget.value) setChosen("");
        }}
      />
      <span class="button" aria-hidden="true">
        <Icon name="file" size={16} />
        {text ?? "Choose a file"}
      </span>
      <span class="file-chosen" aria-hidden="true">
        {chosen || "No file chosen"}
      </span>
    </label>
  );
}

/** A form field (label above, hint below) whose control is a {@link FileButton}. */
export function FileField(props: InputProps & { label: string; text?: string; hint?: string }) {
  const { label, hint, ...input } = props;
  const id = useId();
  return (
    <div class="field">
      <span class="field-label" id={id}>
        {label}
      </span>
      <FileButton {...input} aria-labelledby={id} />
      {hint ? <span class="field-hint">{hint}</span> : null}
    </div>
  );
}

/** Small shared pieces: avatars, dialogs, presence dots, times, forms. */
import type { ComponentChildren, TargetedSubmitEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { presence, say } from "./store.ts";

/** A colour for a name without one: stable per id, from a palette readable on both themes. */
const palette = ["#c2410c", "#0f766e", "#7c3aed", "#be185d", "#1d4ed8", "#4d7c0f", "#b45309", "#0e7490"];
function colorFor(id: string, chosen?: string | null): string {
  if (chosen) return chosen;
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return palette[Math.abs(hash) % palette.length] as string;
}

export function Avatar(props: {
  id: string;
  name: string;
  url?: string | null;
  size?: "s" | "m" | "l";
  color?: string | null;
}) {
  const size = props.size ?? "m";
  // A picture that does not load (removed, or from another server, which the page's CSP does
  // not let in) falls back to the initial.
  const [failed, setFailed] = useState<string | null>(null);
  if (props.url && failed !== props.url) {
    const url = props.url;
    return <img class={`avatar avatar-${size}`} src={url} alt="" loading="lazy" onError={() => setFailed(url)} />;
  }
  const initial = [...(props.name.trim() || "?")][0]?.toUpperCase() ?? "?";
  return (
    <span
      class={`avatar avatar-${size}`}
      aria-hidden="true"
      style={{ backgroundColor: colorFor(props.id, props.color) }}
    >
      {initial}
    </span>
  );
}

export function PresenceDot(props: { actorId: string; initial?: "online" | "offline" | undefined }) {
  const status = presence.value[props.actorId] ?? props.initial ?? "offline";
  return <span class={`presence presence-${status}`} role="img" aria-label={status} title={status} />;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  month: "long",
  day: "numeric",
  year: "numeric",
});

export function Time(props: { at: string }) {
  const date = new Date(props.at);
  return (
    <time dateTime={props.at} title={fullFormat.format(date)}>
      {timeFormat.format(date)}
    </time>
  );
}

export function dayLabel(at: string): string {
  const date = new Date(at);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return dayFormat.format(date);
}

export function formatDate(at: string | null): string {
  return at ? fullFormat.format(new Date(at)) : "never";
}

/**
 * A modal dialog on the native `<dialog>`: focus moves into it and is trapped, Escape closes
 * it, and focus returns to where it was on close (or to `returnFocus`'s element).
 */
export function Dialog(props: {
  /** Names in it go in `<Name>`. */
  title: ComponentChildren;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  returnFocus?: () => HTMLElement | null | undefined;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const returnFocus = useRef(props.returnFocus);
  returnFocus.current = props.returnFocus;
  useEffect(() => {
    const dialog = ref.current;
    const before = document.activeElement as HTMLElement | null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      (returnFocus.current?.() ?? before)?.focus?.();
    };
  }, []);
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a click on the backdrop closes; Escape does the same (onCancel)
    <dialog
      ref={ref}
      class={props.wide ? "dialog dialog-wide" : "dialog"}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onClick={(e) => {
        if (e.target === ref.current) props.onClose();
      }}
    >
      <div class="dialog-body">
        <header class="dialog-head">
          <h2 id="dialog-title">{props.title}</h2>
          <button type="button" class="icon-button" aria-label="Close" onClick={props.onClose}>
            <Icon name="close" />
          </button>
        </header>
        {props.children}
      </div>
    </dialog>
  );
}

/** A confirmation dialog; the safe choice has the focus. */
export function Confirm(props: {
  title: ComponentChildren;
  children: ComponentChildren;
  action: string;
  onConfirm: () => void | Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <div class="dialog-text">{props.children}</div>
      <div class="actions">
        {/* biome-ignore lint/a11y/noAutofocus: the safe choice of a confirmation takes the focus */}
        <button type="button" autoFocus onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await props.onConfirm();
            } finally {
              setBusy(false);
            }
          }}
        >
          {props.action}
        </button>
      </div>
    </Dialog>
  );
}

/** An error message tied to a form, announced when it appears. */
export function FormError(props: { error: string | null; id?: string }) {
  return (
    <p class="form-error" role="alert" id={props.id} hidden={!props.error}>
      {props.error}
    </p>
  );
}

export function Field(props: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed as a child
    <label class="field">
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint ? <span class="field-hint">{props.hint}</span> : null}
    </label>
  );
}

/** Runs a form's submit handler with a busy flag and an error message from the problem code. */
export function useSubmit(
  handler: (form: HTMLFormElement) => Promise<void>,
  describe: (error: unknown) => string,
): { busy: boolean; error: string | null; onSubmit: (e: TargetedSubmitEvent<HTMLFormElement>) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    onSubmit(e) {
      e.preventDefault();
      if (busy) return;
      setBusy(true);
      setError(null);
      const form = e.currentTarget;
      handler(form)
        .catch((err) => setError(describe(err)))
        .finally(() => setBusy(false));
    },
  };
}

/** Copies text to the clipboard, with a fallback for insecure origins. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/**
 * A button that runs an API action: disabled while it runs; a failure goes to `onError`, or to
 * the status line, worded by its problem code.
 */
export function ActionButton(props: {
  class?: string;
  label?: string;
  action: () => Promise<unknown>;
  onError?: (message: string) => void;
  children: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class={props.class}
      aria-label={props.label}
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await props.action();
        } catch (error) {
          if (props.onError) props.onError(describeError(error));
          else say(describeError(error), true);
        } finally {
          setBusy(false);
        }
      }}
    >
      {props.children}
    </button>
  );
}

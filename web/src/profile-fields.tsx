/**
 * Profile fields (up to four labels and values, as on Mastodon): shown on the user card and
 * the profile page, with a check mark on a link this server verified (its page links back to
 * the profile with `rel="me"`), and edited in the settings.
 */
import { useState } from "preact/hooks";
import { Icon } from "./icons.tsx";
import { Name } from "./names.tsx";
import type { ProfileField } from "./types.ts";
import { formatDate } from "./ui.tsx";

/** The most fields a profile has (the server's limit). */
export const maxFields = 4;

/** A value that is a web address, as the server decides it (http or https, nothing else). */
function linkOf(value: string): string | null {
  return /^https?:\/\/\S+$/i.test(value) && URL.canParse(value) ? value : null;
}

/** A profile's fields as a description list; nothing when there are none. */
export function ProfileFields(props: { fields: readonly ProfileField[] | undefined }) {
  const fields = props.fields ?? [];
  if (fields.length === 0) return null;
  return (
    <dl class="profile-fields">
      {fields.map((field, i) => {
        const link = linkOf(field.value);
        return (
          <div key={i} class={field.verifiedAt ? "profile-field verified" : "profile-field"}>
            <dt>
              <Name text={field.name} />
            </dt>
            <dd>
              {link ? (
                <a href={link} rel="me nofollow noopener noreferrer" target="_blank">
                  <Name text={field.value} />
                </a>
              ) : (
                <Name text={field.value} />
              )}
              {field.verifiedAt ? (
                <span
                  class="verified-mark"
                  role="img"
                  aria-label="Verified"
                  title={`Verified ${formatDate(field.verifiedAt)}: the page links back to this profile`}
                >
                  <Icon name="check" size={14} />
                </span>
              ) : null}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

/**
 * The settings' editor of one's fields: a label and a value per row, rows added up to
 * {@link maxFields} and removed. Rows with both parts empty are left out when saving.
 */
export function ProfileFieldsEditor(props: {
  initial: readonly ProfileField[] | undefined;
  /** Where the profile is: what a linked page must link back to. */
  profileUrl: string;
  onChange(fields: { name: string; value: string }[]): void;
}) {
  const [rows, setRows] = useState(() => (props.initial ?? []).map((f) => ({ name: f.name, value: f.value })));
  const update = (next: { name: string; value: string }[]) => {
    setRows(next);
    props.onChange(next.filter((r) => r.name.trim() !== "" || r.value.trim() !== ""));
  };
  return (
    <fieldset class="profile-fields-editor">
      <legend>Profile fields</legend>
      <p class="muted small">
        Up to {maxFields}, such as pronouns or a website. A link is verified when its page links back to your profile:{" "}
        <code>{`<a rel="me" href="${props.profileUrl}">`}</code>.
      </p>
      {rows.map((row, i) => (
        <div class="profile-field-row" key={i}>
          {(["name", "value"] as const).map((part) => (
            <input
              key={part}
              aria-label={`${part === "name" ? "Label" : "Value"} ${i + 1}`}
              placeholder={part === "name" ? "Label" : "Value"}
              maxLength={255}
              dir="auto"
              value={row[part]}
              onInput={(e) => update(rows.map((r, j) => (j === i ? { ...r, [part]: e.currentTarget.value } : r)))}
            />
          ))}
          <button
            type="button"
            class="icon-button"
            aria-label={`Remove field ${i + 1}`}
            onClick={() => update(rows.filter((_, j) => j !== i))}
          >
            <Icon name="close" />
          </button>
        </div>
      ))}
      {rows.length < maxFields ? (
        <button type="button" onClick={() => update([...rows, { name: "", value: "" }])}>
          Add field
        </button>
      ) : null}
    </fieldset>
  );
}

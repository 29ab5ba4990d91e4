/** A room's general settings: avatar, name, topic, theme, who can join, link previews, bots, retention. */
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import { AvatarPicker, formWith } from "./avatar-picker.tsx";
import { describeError } from "./errors.ts";
import { Name } from "./names.tsx";
import { putRoom, say } from "./store.ts";
import type { Room } from "./types.ts";
import { Field, FormError, useSubmit } from "./ui.tsx";

export function RoomGeneral(props: { room: Room; can(action: string): boolean }) {
  const { room, can } = props;
  const [theme, setTheme] = useState(room.theme);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const body: Record<string, unknown> = {};
    if (can("rename")) body.name = String(data.get("name") ?? "");
    if (can("setTopic")) body.topic = String(data.get("topic") ?? "");
    if (can("setTheme")) body.theme = theme;
    if (can("setVisibility") && !room.direct) body.visibility = String(data.get("visibility"));
    if (can("setLinkPreviews") && !room.remote) body.linkPreviews = data.get("linkPreviews") === "on";
    if (can("setBots") && !room.remote && !room.direct) body.allowBots = data.get("allowBots") === "on";
    if (can("setRetention") && !room.remote) {
      const days = String(data.get("retentionDays") ?? "").trim();
      body.retentionDays = days === "" ? null : Number(days);
    }
    putRoom({ ...room, ...(await api<Room>("PATCH", `/rooms/${room.id}`, body)) });
    say("Room saved.");
  }, describeError);
  const editable =
    can("rename") ||
    can("setTopic") ||
    can("setTheme") ||
    can("setVisibility") ||
    can("setLinkPreviews") ||
    can("setBots") ||
    can("setRetention");
  return (
    <>
      {can("setAvatar") ? (
        <AvatarPicker
          id={room.id}
          name={room.name}
          current={room.avatarUrl}
          upload={async (file) =>
            putRoom({ ...room, ...(await api<Room>("PUT", `/rooms/${room.id}/avatar`, formWith(file))) })
          }
          remove={async () => putRoom({ ...room, ...(await api<Room>("DELETE", `/rooms/${room.id}/avatar`)) })}
        />
      ) : null}
      <form onSubmit={onSubmit}>
        <Field label="Name">
          <input name="name" required maxLength={100} dir="auto" defaultValue={room.name} disabled={!can("rename")} />
        </Field>
        <Field label="Topic">
          <textarea
            name="topic"
            maxLength={1000}
            rows={3}
            dir="auto"
            defaultValue={room.topic}
            disabled={!can("setTopic")}
          />
        </Field>
        <fieldset class="inline" disabled={!can("setTheme")}>
          <legend>Theme colour</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={theme != null}
              onChange={(e) => setTheme(e.currentTarget.checked ? "#4f5bd5" : null)}
            />{" "}
            Use a colour for this room
          </label>
          {theme != null ? (
            <input
              type="color"
              aria-label="Theme colour"
              value={theme}
              onInput={(e) => setTheme(e.currentTarget.value)}
            />
          ) : null}
        </fieldset>
        {room.direct ? null : (
          <fieldset disabled={!can("setVisibility")}>
            <legend>Who can join</legend>
            <label class="check">
              <input type="radio" name="visibility" value="public" defaultChecked={room.visibility === "public"} />{" "}
              Public: listed in the directory, anyone may join
            </label>
            <label class="check">
              <input type="radio" name="visibility" value="private" defaultChecked={room.visibility === "private"} />{" "}
              Private: invite only
            </label>
          </fieldset>
        )}
        {room.remote ? null : (
          <fieldset disabled={!can("setLinkPreviews")}>
            <legend>Link previews</legend>
            <label class="check">
              <input type="checkbox" name="linkPreviews" defaultChecked={room.linkPreviews} /> Show a card (title,
              description, image) for the first links of each message, fetched by this server
            </label>
          </fieldset>
        )}
        {room.remote || room.direct ? null : (
          <fieldset disabled={!can("setBots")}>
            <legend>Bots</legend>
            <label class="check">
              <input type="checkbox" name="allowBots" defaultChecked={room.allowBots !== false} /> Bots may join and
              post (turned off, bots already here stay but cannot post)
            </label>
          </fieldset>
        )}
        <Field
          label="Keep messages for (days)"
          hint={
            room.remote
              ? "Set by the room's server; this server deletes its copies as they pass it."
              : "Empty keeps them; older messages are deleted, here and on the servers that mirror the room."
          }
        >
          <input
            type="number"
            name="retentionDays"
            min={1}
            max={3650}
            step={1}
            placeholder="Forever"
            defaultValue={room.retentionDays == null ? "" : String(room.retentionDays)}
            disabled={room.remote || !can("setRetention")}
          />
        </Field>
        <p class="muted small">
          Address:{" "}
          <code>
            <Name text={room.handle} />
          </code>
        </p>
        <FormError error={error} />
        {editable ? (
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Save
            </button>
          </div>
        ) : null}
      </form>
    </>
  );
}

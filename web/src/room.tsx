/** A room: header, timeline, typing line and composer; the preview for rooms one is not in. */
import { useSignal } from "@preact/signals";
import type { CSSProperties } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.ts";
import { addFiles, type UploadItem } from "./attachments.tsx";
import { Composer } from "./composer.tsx";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { MemberPanel } from "./members.tsx";
import { lookalikesIn, memberName, Name, PersonName, UserText } from "./names.tsx";
import { PinnedList, PinsButton } from "./pins.tsx";
import { RoomAvatar } from "./room-face.tsx";
import { cancelJoin } from "./room-list.ts";
import { RoomSettings } from "./room-settings.tsx";
import { navigate } from "./router.ts";
import { CommandReplies } from "./slash-commands.tsx";
import {
  atBottom,
  pageTitle,
  putRoom,
  type RoomState,
  roomState,
  rooms,
  roomsLoaded,
  setRoomNotifications,
} from "./store.ts";
import { openThread, ThreadPanel } from "./threads.tsx";
import { Timeline } from "./timeline.tsx";
import type { Message, Room } from "./types.ts";
import { ActionButton, Avatar, Dialog } from "./ui.tsx";
import { DropOverlay } from "./upload-preview.tsx";

export function RoomView(props: { roomId: string; panel?: "settings" }) {
  const room = rooms.value.find((r) => r.id === props.roomId);
  if (!room) {
    if (!roomsLoaded.value) return <p class="loading">Loading…</p>;
    return <RoomPreview roomId={props.roomId} />;
  }
  if (room.membership === "pending") {
    return (
      <section class="pane-center" aria-labelledby="pending-title">
        <h1 id="pending-title">
          <Name text={room.name} />
        </h1>
        <p class="muted small">
          <Name text={room.handle} />
        </p>
        <p role="status">Waiting for the room's server to accept you. The room opens here as soon as it does.</p>
        <button type="button" onClick={() => void cancelJoin(room).then((done) => done && navigate("/"))}>
          Cancel the request
        </button>
      </section>
    );
  }
  return <JoinedRoom room={room} panel={props.panel} />;
}

/** What someone who is not a member sees: the room's name, topic and a join button. */
function RoomPreview(props: { roomId: string }) {
  const [room, setRoom] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!/^[0-9a-f-]{36}$/i.test(props.roomId)) {
      setError("This room does not exist or you cannot see it.");
      return;
    }
    api<Room>("GET", `/rooms/${props.roomId}`)
      .then(setRoom)
      .catch((e) => setError(describeError(e)));
  }, [props.roomId]);
  if (error) {
    return (
      <section class="pane-center">
        <h1>Room unavailable</h1>
        <p role="alert">{error}</p>
        <a href="/directory">Browse the directory</a>
      </section>
    );
  }
  if (!room) return <p class="loading">Loading…</p>;
  return (
    <section class="pane-center preview" aria-labelledby="preview-title">
      <Avatar id={room.id} name={room.name} url={room.avatarUrl} size="l" color={room.theme} />
      <h1 id="preview-title">
        <Name text={room.name} />
      </h1>
      {room.topic ? <UserText class="topic" text={room.topic} /> : null}
      <p class="muted small">
        <Name text={room.handle} />
      </p>
      <ActionButton
        class="primary"
        action={async () => putRoom(await api<Room>("POST", `/rooms/${room.id}/join`))}
        onError={setError}
      >
        Join room
      </ActionButton>
    </section>
  );
}

function JoinedRoom(props: { room: Room; panel?: "settings" | undefined }) {
  const { room } = props;
  const state = roomState(room.id);
  const showMembers = useSignal(matchMedia("(min-width: 1100px)").matches);
  const replyTo = useSignal<Message | null>(null);
  const editing = useSignal<Message | null>(null);
  const uploads = useSignal<UploadItem[]>([]);
  const dragging = useSignal(false);
  const showNotify = useSignal(false);
  const showPins = useSignal(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    void state.load();
    if (state.members.peek() == null) void state.loadMembers();
    if (state.pins.peek() == null) void state.loadPins();
    atBottom.value = true;
    return () => {
      pageTitle.value = "";
    };
  }, [state]);

  useEffect(() => {
    pageTitle.value = room.name;
  }, [room.name]);
  const accent = room.theme ? ({ "--room-accent": room.theme } as CSSProperties) : undefined;
  const can = (action: string) => room.permissions.includes(action);
  const host = room.remote ? room.handle.split("@").pop() : null;
  const muted = room.notifications?.muted === true;
  const open = openThread.value;
  const thread = open?.roomId === room.id ? open : null;
  const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes("Files") === true;
  return (
    <div class={`room${showMembers.value ? " with-members" : ""}${thread ? " with-thread" : ""}`} style={accent}>
      <section
        class={dragging.value ? "room-main dragging" : "room-main"}
        aria-labelledby="room-title"
        onDragOver={(e) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          dragging.value = true;
        }}
        onDragLeave={(e) => {
          if (e.currentTarget === e.target) dragging.value = false;
        }}
        onDrop={(e) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          dragging.value = false;
          addFiles(uploads, e.dataTransfer?.files ?? []);
        }}
      >
        {dragging.value ? <DropOverlay /> : null}
        <header class="room-head">
          <a href="/" class="icon-button back" aria-label="Back to rooms">
            <Icon name="back" />
          </a>
          <RoomAvatar room={room} size="s" />
          <div class="room-title-block">
            <h1 id="room-title" ref={heading} tabIndex={-1}>
              <Name text={room.name} />
            </h1>
            {room.topic ? <UserText class="topic" text={room.topic} /> : null}
            {host ? (
              <p class="muted small room-host">
                on <Name text={host} />
              </p>
            ) : null}
          </div>
          <PinsButton
            state={state}
            onOpen={() => {
              showPins.value = true;
            }}
          />
          <button
            type="button"
            class={muted ? "icon-button muted-room" : "icon-button"}
            aria-label={muted ? "Notification settings (muted)" : "Notification settings"}
            title={muted ? "Muted" : "Notification settings"}
            onClick={() => {
              showNotify.value = true;
            }}
          >
            <Icon name="bell" />
          </button>
          <button
            type="button"
            class="icon-button"
            aria-pressed={showMembers.value}
            aria-controls="member-panel"
            aria-label="Members"
            title="Members"
            onClick={() => {
              showMembers.value = !showMembers.value;
            }}
          >
            <Icon name="users" />
          </button>
          <a href={`/rooms/${room.id}/settings`} class="icon-button" aria-label="Room settings" title="Room settings">
            <Icon name="gear" />
          </a>
        </header>
        <Timeline room={room} state={state} replyTo={replyTo} editing={editing} />
        <TypingLine state={state} />
        <CommandReplies roomId={room.id} />
        <Composer room={room} state={state} replyTo={replyTo} editing={editing} uploads={uploads} />
      </section>
      {showPins.value ? (
        <PinnedList
          room={room}
          state={state}
          onClose={() => {
            showPins.value = false;
          }}
        />
      ) : null}
      {showNotify.value ? (
        <RoomNotifications
          room={room}
          onClose={() => {
            showNotify.value = false;
          }}
        />
      ) : null}
      {thread ? <ThreadPanel key={thread.rootId} room={room} state={state} rootId={thread.rootId} /> : null}
      {showMembers.value ? (
        <MemberPanel
          room={room}
          state={state}
          onClose={() => {
            showMembers.value = false;
          }}
        />
      ) : null}
      {props.panel === "settings" ? (
        <RoomSettings room={room} canManage={can} onClose={() => navigate(`/rooms/${room.id}`)} />
      ) : null}
    </div>
  );
}

function TypingLine(props: { state: RoomState }) {
  const typing = props.state.typing.value;
  const members = props.state.members.value;
  const looksAlike = lookalikesIn(members);
  const names = Object.keys(typing).map((id) => {
    const member = members?.find((m) => m.actor.id === id);
    if (!member) return <Name key={id} text="Someone" />;
    const name = memberName(member);
    return <PersonName key={id} name={name} handle={member.actor.handle} alike={looksAlike(id, name)} />;
  });
  return (
    <div class="typing" aria-live="polite">
      {names.length === 0 ? null : names.length === 1 ? (
        <>{names[0]} is typing…</>
      ) : names.length === 2 ? (
        <>
          {names[0]} and {names[1]} are typing…
        </>
      ) : (
        "Several people are typing…"
      )}
    </div>
  );
}

/** How this room notifies us: a level and a mute switch (our own, not shown to the room). */
function RoomNotifications(props: { room: Room; onClose(): void }) {
  const { room } = props;
  const current = room.notifications;
  return (
    <Dialog
      title={
        <>
          Notifications for <Name text={room.name} />
        </>
      }
      onClose={props.onClose}
    >
      <fieldset>
        <legend>Notify me of</legend>
        {(
          [
            ["all", "Every message"],
            ["mentions", "Mentions and replies"],
            ["none", "Nothing"],
          ] as const
        ).map(([level, label]) => (
          <label class="check" key={level}>
            <input
              type="radio"
              name="level"
              value={level}
              checked={current?.level === level}
              onChange={() => void setRoomNotifications(room, { notifications: level })}
            />{" "}
            {label}
          </label>
        ))}
        <button
          type="button"
          class="link small"
          onClick={() => void setRoomNotifications(room, { notifications: "default" })}
        >
          Back to the default ({room.direct ? "every message" : "mentions and replies"})
        </button>
      </fieldset>
      <label class="check">
        <input
          type="checkbox"
          checked={current?.muted === true}
          onChange={(e) => void setRoomNotifications(room, { muted: e.currentTarget.checked })}
        />{" "}
        Mute this room (no notifications, no badges)
      </label>
    </Dialog>
  );
}

/**
 * Link preview cards under a message (fetched by the server, images served from our origin),
 * the sender's × that removes them, and the user's own setting. With the setting off no card
 * shows: history has none, and the live `message.previews` events (the same for every member)
 * are not shown either.
 */
import { effect, signal } from "@preact/signals";
import { api } from "./api.ts";
import { Name, UserText } from "./names.tsx";
import { attempt, authState, roomState, say } from "./store.ts";
import type { Message, PreviewCard, Room } from "./types.ts";

/** Whether the signed-in user sees cards (and gives their messages some). */
export const linkPreviewsOn = signal(true);

effect(() => {
  if (authState.value !== "signed-in") return;
  api<{ enabled: boolean }>("GET", "/me/link-previews")
    .then((setting) => {
      linkPreviewsOn.value = setting.enabled;
    })
    .catch(() => {
      // Cards show meanwhile; history follows the server's view of the setting anyway.
    });
});

/** Turns the user's cards on or off. */
export async function setLinkPreviews(enabled: boolean): Promise<void> {
  await attempt(async () => {
    linkPreviewsOn.value = (await api<{ enabled: boolean }>("PUT", "/me/link-previews", { enabled })).enabled;
    say(enabled ? "Link previews are on." : "Link previews are off.");
  });
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function Card(props: { card: PreviewCard }) {
  const { card } = props;
  return (
    <li class="link-card">
      {card.image ? (
        <img
          class="link-card-image"
          src={card.image.url}
          width={card.image.width}
          height={card.image.height}
          alt=""
          loading="lazy"
        />
      ) : null}
      <div class="link-card-text">
        <Name class="link-card-site" text={card.siteName ?? host(card.url)} />
        <a class="link-card-title" href={card.url} target="_blank" rel="noopener noreferrer nofollow ugc">
          <Name text={card.title ?? host(card.url)} />
        </a>
        {card.description ? <UserText class="link-card-description" text={card.description} /> : null}
      </div>
    </li>
  );
}

/** The cards of a message, if the room and the user show them; its author may remove them. */
export function LinkCards(props: { message: Message; room: Room; mine: boolean }) {
  const { message, room } = props;
  const cards = message.previews ?? [];
  if (cards.length === 0 || !linkPreviewsOn.value || room.linkPreviews === false) return null;
  const remove = () =>
    attempt(async () => {
      await api("DELETE", `/rooms/${room.id}/messages/${message.id}/previews`);
      roomState(room.id).patch(message.id, (m) => ({ ...m, previews: [] }));
    });
  return (
    <div class="link-cards">
      <ul aria-label="Link previews">
        {cards.map((card) => (
          <Card key={card.url} card={card} />
        ))}
      </ul>
      {props.mine ? (
        <button
          type="button"
          class="icon-button small link-cards-remove"
          aria-label="Remove link previews"
          title="Remove link previews"
          onClick={() => void remove()}
        >
          ×
        </button>
      ) : null}
    </div>
  );
}

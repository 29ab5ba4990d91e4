/** A room's picture: a direct room shows its people (the other, or the first two others overlapping). */
import type { Room } from "./types.ts";
import { Avatar } from "./ui.tsx";

export function RoomAvatar(props: { room: Room; size?: "s" | "l" }) {
  const { room } = props;
  const size = props.size;
  const others = room.direct ? (room.others ?? []) : [];
  const [first, second] = others;
  if (first && second && !room.avatarUrl) {
    return (
      <span class={`avatar-stack avatar-stack-${size ?? "m"}`} aria-hidden="true">
        {[first, second].map((o) => (
          <Avatar key={o.id} id={o.id} name={o.displayName} url={o.avatarUrl} color={o.color} size="s" />
        ))}
      </span>
    );
  }
  if (first && !second) {
    return <Avatar id={first.id} name={first.displayName} url={room.avatarUrl} size={size} color={first.color} />;
  }
  return <Avatar id={room.id} name={room.name} url={room.avatarUrl} size={size} color={room.theme} />;
}

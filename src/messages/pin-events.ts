/**
 * The shapes of pins as the API and the live stream show them, apart from pins.ts so that
 * deleting a message (messages.ts) can tell the room its pin went.
 * @module
 */

import type { ActorProfile } from "../rooms/actors.ts";
import type { NewEvent } from "../stream/events.ts";
import type { MessageView } from "./views.ts";

/** A pinned message as the API and the `pins` event show it. */
export interface PinView {
  readonly message: MessageView;
  readonly pinnedAt: string;
  /** Who pinned it; null in a mirror (the room's server does not say) or once they are gone. */
  readonly pinnedBy: ActorProfile | null;
}

/** What a `pins` event carries: the change, and the pin itself when one was added. */
export interface PinsEvent {
  readonly roomId: string;
  readonly messageId: string;
  readonly pinned: boolean;
  readonly pin?: PinView;
}

/** A `pins` event for the room's members. */
export function pinsEvent(data: PinsEvent): NewEvent {
  return { type: "pins", roomId: data.roomId, data };
}

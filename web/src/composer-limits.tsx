/**
 * The composer's length limit: a counter near it, the reason when past it (sending is blocked
 * and the text stays), and text too long for a message offered as a text file instead.
 */

import { counterFrom, maxMessageLength, number, tooLong } from "./message-length.ts";

/** The counter (near the limit) and the reason (past it); `id` for the box's aria-describedby. */
export function LengthNote(props: { text: string; id: string; onSendAsFile?: () => void }) {
  const { text } = props;
  if (text.length < counterFrom) return null;
  const reason = tooLong(text);
  return (
    <p id={props.id} class={`length-note${reason ? " over" : ""}`} role={reason ? "alert" : undefined}>
      <span class="char-count">
        {number.format(text.length)} / {number.format(maxMessageLength)}
        <span class="visually-hidden"> characters</span>
      </span>
      {reason ? (
        <>
          {" "}
          <span class="length-reason">{reason}</span>
          {props.onSendAsFile ? (
            <>
              {" "}
              <button type="button" class="link" onClick={props.onSendAsFile}>
                Send as file
              </button>
            </>
          ) : null}
        </>
      ) : null}
    </p>
  );
}

/** The offer made after a paste too long for a message: attach it as a text file, or not. */
export function LongPasteOffer(props: { length: number; onAttach(): void; onCancel(): void }) {
  return (
    <div class="long-paste" role="alert">
      <span>
        The pasted text ({number.format(props.length)} characters) is too long for a message (at most{" "}
        {number.format(maxMessageLength)}). Send it as a file?
      </span>
      <button type="button" class="small primary" onClick={props.onAttach}>
        Attach as file
      </button>
      <button type="button" class="small" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}

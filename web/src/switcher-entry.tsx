/**
 * What the initial bundle holds of the quick switcher: its button (for touch, where there is no
 * Ctrl+K) and the loader. The dialog itself is a chunk loaded when first opened.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Icon } from "./icons.tsx";
import { listenForRoomKeys, switcherOpen } from "./room-keys.ts";
import { say } from "./status.ts";

type SwitcherProps = { onClose(): void };
let chunk: Promise<ComponentType<SwitcherProps>> | null = null;

function loadSwitcher(): Promise<ComponentType<SwitcherProps>> {
  chunk ??= import("./switcher.tsx").then(
    (m) => m.QuickSwitcher,
    (error: unknown) => {
      chunk = null;
      throw error;
    },
  );
  return chunk;
}

/** The button that opens the switcher, and the switcher when open; also listens for the room keys. */
export function SwitcherButton() {
  const [Switcher, setSwitcher] = useState<ComponentType<SwitcherProps> | null>(null);
  useEffect(() => listenForRoomKeys(), []);
  const open = switcherOpen.value;
  useEffect(() => {
    if (!open || Switcher) return;
    loadSwitcher().then(
      (component) => setSwitcher(() => component),
      () => {
        switcherOpen.value = false;
        say("The quick switcher could not be loaded.", true);
      },
    );
  }, [open, Switcher]);
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  return (
    <>
      <button
        type="button"
        class="icon-button"
        aria-label="Jump to a room or person"
        aria-keyshortcuts={mac ? "Meta+K" : "Control+K"}
        title={`Jump to… (${mac ? "⌘K" : "Ctrl+K"})`}
        onClick={() => {
          switcherOpen.value = true;
        }}
      >
        <Icon name="jump" />
      </button>
      {open && Switcher ? (
        <Switcher
          onClose={() => {
            switcherOpen.value = false;
          }}
        />
      ) : null}
    </>
  );
}

/** Light, dark or the system's choice, remembered in this browser. */
import { signal } from "@preact/signals";

export type ThemeChoice = "system" | "light" | "dark";

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem("fedchat.theme");
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

export const themeChoice = signal<ThemeChoice>(stored());

/** Puts the chosen theme on the document (the stylesheet follows the system otherwise). */
export function applyTheme(choice: ThemeChoice = themeChoice.peek()): void {
  themeChoice.value = choice;
  const root = document.documentElement;
  if (choice === "system") root.removeAttribute("data-theme");
  else root.dataset.theme = choice;
  try {
    localStorage.setItem("fedchat.theme", choice);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

/** The client's entry: the shell (sidebar, main view, banners) and the routes. */
import { useSignalEffect } from "@preact/signals";
import { type JSX, render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, authenticate } from "./api.ts";
import { describeError } from "./errors.ts";
import { Icon, type IconName } from "./icons.tsx";
import { isolate, Name } from "./names.tsx";
import { CreateRoom, Directory, InvitePage, JoinRemote, NewDirect, UserPage } from "./pages.tsx";
import { ReportsEntry } from "./report-entry.tsx";
import { watchRichContent } from "./rich-content.ts";
import { RoomView } from "./room.tsx";
import { match, navigate, onLinkClick, path } from "./router.ts";
import { SearchPage } from "./search.tsx";
import { UserSettings } from "./settings.tsx";
import { Sidebar } from "./sidebar.tsx";
import { ContactsPage, NotificationsPage } from "./social.tsx";
import { StickersPage } from "./sticker-entry.tsx";
import {
  activeRoomId,
  authState,
  boot,
  enableNotifications,
  me,
  notificationPermission,
  pageTitle,
  say,
  stream,
  toast,
  totalUnread,
} from "./store.ts";
import { connection, nextAttemptAt } from "./stream.ts";
import { applyTheme } from "./theme.ts";
import { Field, FormError, useSubmit } from "./ui.tsx";
import { installUserCards } from "./user-card-host.ts";

function AuthScreen() {
  const [mode, setMode] = useState<"login" | "register">(path.value === "/register" ? "register" : "login");
  // An error belongs to the form that got it: switching to the other one leaves it behind.
  const [errorOf, setErrorOf] = useState(mode);
  const { busy, error, onSubmit } = useSubmit(
    async (form) => {
      const data = new FormData(form);
      const username = String(data.get("username") ?? "").trim();
      const password = String(data.get("password") ?? "");
      const displayName = String(data.get("displayName") ?? "").trim();
      const user = await authenticate(mode, {
        username,
        password,
        ...(mode === "register" && displayName ? { displayName } : {}),
      });
      if (user == null) {
        setAwaiting(true);
        return;
      }
      if (path.value === "/login" || path.value === "/register") navigate("/", true);
    },
    (err) => {
      setErrorOf(mode);
      const text = describeError(err);
      if (err instanceof Error && "code" in err) {
        const code = (err as { code: string }).code;
        if (code === "invalid_credentials") return "Wrong username or password.";
        if (code === "account_pending") return "Your sign-up waits for an admin of this server to approve it.";
        if (code === "registrations_closed") return "Sign-up is closed on this server.";
        if (code === "username_taken" || code === "conflict") return "That username is taken: choose another.";
      }
      return text;
    },
  );
  // A server nobody has signed up to yet opens on the sign-up form; a closed one offers none.
  const [firstAccount, setFirstAccount] = useState(false);
  const [registrations, setRegistrations] = useState<"open" | "approval" | "closed">("open");
  const [awaiting, setAwaiting] = useState(false);
  useEffect(() => {
    api<{ users: number; registrations: "open" | "approval" | "closed" }>("GET", "/instance")
      .then((instance) => {
        setRegistrations(instance.registrations);
        if (instance.registrations === "closed") setMode("login");
        if (instance.users > 0 || instance.registrations === "closed") return;
        setFirstAccount(true);
        if (path.peek() !== "/login") setMode("register");
      })
      .catch(() => {
        // The sign-in form works without it.
      });
  }, []);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [mode]);
  return (
    <main class="auth">
      <form class="card auth-card" onSubmit={onSubmit} aria-describedby="auth-error">
        <h1 ref={heading} tabIndex={-1}>
          {mode === "login" ? "Sign in to fedchat" : "Create your account"}
        </h1>
        <p class="muted">{location.host}</p>
        {firstAccount && mode === "register" ? (
          <p class="first-account">Nobody has an account on this server yet: create the first one.</p>
        ) : null}
        {mode === "register" && registrations === "approval" ? (
          <p class="muted">An admin of this server approves each new account before it can sign in.</p>
        ) : null}
        {awaiting ? (
          <p role="status" class="awaiting-approval">
            Thank you: your account waits for an admin of this server to approve it. Sign in once it is approved.
          </p>
        ) : null}
        <Field label="Username" hint={mode === "register" ? "3–32 of a–z, 0–9 and _" : undefined}>
          <input
            name="username"
            autoComplete="username"
            required
            minLength={3}
            maxLength={32}
            pattern={mode === "register" ? "[A-Za-z0-9_]{3,32}" : undefined}
            autoCapitalize="none"
            spellcheck={false}
          />
        </Field>
        {mode === "register" ? (
          <Field label="Display name (optional)">
            <input name="displayName" maxLength={64} autoComplete="nickname" />
          </Field>
        ) : null}
        <Field label="Password" hint={mode === "register" ? "8 characters or more" : undefined}>
          <input
            name="password"
            type="password"
            required
            minLength={8}
            maxLength={256}
            autoComplete={mode === "login" ? "current-password" : "new-password"}
          />
        </Field>
        <FormError error={errorOf === mode ? error : null} id="auth-error" />
        <button type="submit" class="primary" disabled={busy}>
          {mode === "login" ? "Sign in" : "Create account"}
        </button>
        {registrations === "closed" && mode === "login" ? (
          <p class="muted">Sign-up is closed on this server.</p>
        ) : (
          <p>
            {mode === "login" ? "New here? " : "Have an account? "}
            <button type="button" class="link" onClick={() => setMode(mode === "login" ? "register" : "login")}>
              {mode === "login" ? "Create an account" : "Sign in"}
            </button>
          </p>
        )}
      </form>
    </main>
  );
}

function OfflineBanner() {
  const state = connection.value;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state !== "offline") return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state]);
  if (state !== "offline") return null;
  const seconds = nextAttemptAt.value ? Math.max(0, Math.ceil((nextAttemptAt.value - now) / 1000)) : 0;
  return (
    <div class="banner banner-offline" role="status">
      <span>Offline: reconnecting{seconds > 0 ? ` in ${seconds} s` : "…"}</span>
      <button type="button" class="link" onClick={() => stream.retryNow()}>
        Retry now
      </button>
    </div>
  );
}

function Toast() {
  const current = toast.value;
  useSignalEffect(() => {
    const value = toast.value;
    if (!value) return;
    const timer = setTimeout(() => {
      if (toast.peek()?.id === value.id) toast.value = null;
    }, 5000);
    return () => clearTimeout(timer);
  });
  return (
    <div class="toast-region" aria-live="polite">
      {current ? (
        <div class={current.error ? "toast toast-error" : "toast"} role={current.error ? "alert" : "status"}>
          {current.text}
        </div>
      ) : null}
    </div>
  );
}

/** The home page's ways to start, as tiles (Element's home page has the same four). */
const homeActions: [string, IconName, string][] = [
  ["/new", "plus", "Create a room"],
  ["/directory", "compass", "Browse the room directory"],
  ["/join", "link", "Join a room on another server"],
  ["/dm", "contact", "Start a direct conversation"],
];

function Home() {
  useEffect(() => {
    pageTitle.value = "";
  }, []);
  return (
    <section class="home" aria-labelledby="home-title">
      <h1 id="home-title">
        Welcome, <Name text={me.value?.displayName || me.value?.username || ""} />
      </h1>
      <p>Pick a room on the left, or:</p>
      <ul class="home-actions">
        {homeActions.map(([href, icon, label]) => (
          <li key={href}>
            <a href={href} class="home-tile">
              <Icon name={icon} size={22} />
              {label}
            </a>
          </li>
        ))}
      </ul>
      {notificationPermission.value === "default" ? (
        <p>
          <button type="button" onClick={() => void enableNotifications()}>
            Notify me of mentions, replies and invites
          </button>{" "}
          <span class="muted small">while fedchat is in a background tab</span>
        </p>
      ) : null}
    </section>
  );
}

/** The client's pages by path pattern; the first match wins. */
const routes: [string, (params: Record<string, string>) => JSX.Element][] = [
  ["/rooms/:id/settings", (p) => <RoomView key={p.id} roomId={p.id as string} panel="settings" />],
  ["/rooms/:id", (p) => <RoomView key={p.id} roomId={p.id as string} />],
  ["/invite/:code", (p) => <InvitePage code={p.code as string} />],
  ["/users/:name", (p) => <UserPage handle={p.name as string} />],
  ["/directory", () => <Directory />],
  ["/new", () => <CreateRoom />],
  ["/join", () => <JoinRemote />],
  ["/dm", () => <NewDirect />],
  ["/settings", () => <UserSettings />],
  ["/settings/stickers", () => <StickersPage />],
  ["/notifications", () => <NotificationsPage />],
  ["/contacts", () => <ContactsPage />],
  ["/search", () => <SearchPage />],
  ["/reports", () => <ReportsEntry />],
];

function NotFound() {
  return (
    <section class="pane-center" aria-labelledby="missing-title">
      <h1 id="missing-title">Nothing here</h1>
      <p>This address is not a page of fedchat.</p>
      <a href="/">Back to your rooms</a>
    </section>
  );
}

function Main() {
  const p = path.value;
  let view = p === "/" || p === "/login" || p === "/register" ? <Home /> : <NotFound />;
  let roomId: string | null = null;
  for (const [pattern, page] of routes) {
    const params = match(pattern, p);
    if (!params) continue;
    view = page(params);
    roomId = pattern.startsWith("/rooms/") ? (params.id ?? null) : null;
    break;
  }
  useEffect(() => {
    activeRoomId.value = roomId;
  }, [roomId]);
  return (
    <div class={p === "/" ? "shell at-home" : "shell"}>
      <Sidebar />
      <div class="main" id="main">
        {view}
      </div>
    </div>
  );
}

function App() {
  const state = authState.value;
  useSignalEffect(() => {
    const unread = totalUnread.value;
    const page = pageTitle.value;
    // The page is often a room's or a person's name: isolated, it keeps "· fedchat" after it.
    document.title = `${unread > 0 ? `(${unread}) ` : ""}${page ? `${isolate(page)} · ` : ""}fedchat`;
  });
  if (state === "loading") return <p class="boot">Loading fedchat…</p>;
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: delegates in-app link clicks to the router
    // biome-ignore lint/a11y/useKeyWithClickEvents: links are activated by Enter, which fires click
    <div class="app" onClick={onLinkClick}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <OfflineBanner />
      {state === "signed-in" ? <Main /> : <AuthScreen />}
      <Toast />
    </div>
  );
}

applyTheme();
installUserCards();
const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  watchRichContent(root);
  render(<App />, root);
}
void boot().catch((error) => say(describeError(error), true));

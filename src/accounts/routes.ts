import type { Hono } from "hono";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authRoutes } from "./auth-routes.ts";
import { botRoutes } from "./bot-routes.ts";
import { dataRoutes } from "./data-routes.ts";
import { profileRoutes } from "./profile-routes.ts";

/**
 * Mounts the account endpoints: registration, login, refresh, logout, password, sessions,
 * the profile and the avatar, public profiles, bots and personal access tokens, exports of
 * one's data and deleting the account.
 */
export function accountRoutes(api: Api, app: Hono<Env>): void {
  authRoutes(api, app);
  profileRoutes(api, app);
  botRoutes(api, app);
  dataRoutes(api, app);
}

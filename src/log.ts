import { AsyncLocalStorage } from "node:async_hooks";
import {
  configure,
  dispose,
  getAnsiColorFormatter,
  getConsoleSink,
  getLogger,
  jsonLinesFormatter,
  type Logger,
} from "@logtape/logtape";
import type { LogLevel } from "./config.ts";

/** The root category of this server's own logs; Fedify logs under `fedify`. */
export const appCategory = "fedchat";

/**
 * A logger for one part of the server.
 * @param name The part's name, appended to the app category.
 */
export function logger(...name: string[]): Logger {
  return getLogger([appCategory, ...name]);
}

/**
 * Configures LogTape once per process: one console sink for our logs and Fedify's, JSON lines
 * for machines or colours for a terminal, and implicit contexts so every record written
 * while handling a request carries its request id.
 * @param level The lowest level written.
 * @param format `json` for one JSON object per line, `pretty` for people.
 */
export async function setupLogging(level: LogLevel, format: "json" | "pretty"): Promise<void> {
  await configure({
    reset: true,
    contextLocalStorage: new AsyncLocalStorage(),
    sinks: {
      console: getConsoleSink({
        formatter: format === "json" ? jsonLinesFormatter : getAnsiColorFormatter({ timestamp: "time" }),
      }),
    },
    loggers: [
      { category: [appCategory], sinks: ["console"], lowestLevel: level },
      // Fedify is chatty at info (every inbox request); warnings and up unless asked for more.
      {
        category: ["fedify"],
        sinks: ["console"],
        lowestLevel: level === "trace" || level === "debug" ? level : "warning",
      },
      { category: ["logtape", "meta"], sinks: ["console"], lowestLevel: "warning" },
    ],
  });
}

/** Flushes and closes the log sinks; the last thing a shutdown does. */
export async function teardownLogging(): Promise<void> {
  await dispose();
}

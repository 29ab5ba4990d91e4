// Node 24 has no global Temporal; Fedify's types and @fedify/testing expect one.
import { Temporal } from "@js-temporal/polyfill";

if (!("Temporal" in globalThis)) Object.assign(globalThis, { Temporal });

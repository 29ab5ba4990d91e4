/**
 * The operator's command line (`npm run admin -- <command>`, see src/admin.ts), with
 * federation's consistency checks of mirrored remote rooms. The federation built here sends
 * nothing: it only signs the history fetches that repair mirrors.
 * @module
 */
import { InProcessMessageQueue } from "@fedify/fedify";
import { runAdmin } from "../src/admin.ts";
import { mirrorChecks } from "./consistency.ts";
import { createChatFederation } from "./federation.ts";
import { PostgresKvStore } from "./kv.ts";

process.exitCode = await runAdmin(process.argv.slice(2), (deps) =>
  mirrorChecks(
    createChatFederation({
      origin: deps.config.origin,
      kv: new PostgresKvStore(deps.db),
      queue: new InProcessMessageQueue(),
      allowPrivateAddress: deps.config.allowPrivateAddress,
      instanceName: deps.config.instanceName,
    }),
  ),
);

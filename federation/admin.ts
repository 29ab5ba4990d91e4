/**
 * The operator's command line (`npm run admin -- <command>`, see src/admin.ts), with
 * federation's consistency checks of mirrored remote rooms. Fedify is loaded only for those:
 * the federation built here sends nothing, it signs the history fetches that repair mirrors.
 * @module
 */
import { runAdmin } from "../src/admin.ts";

process.exitCode = await runAdmin(process.argv.slice(2), async (deps) => {
  const [{ InProcessMessageQueue }, { mirrorChecks }, { createChatFederation }, { PostgresKvStore }] =
    await Promise.all([
      import("@fedify/fedify"),
      import("./consistency.ts"),
      import("./federation.ts"),
      import("./kv.ts"),
    ]);
  return mirrorChecks(
    createChatFederation({
      origin: deps.config.origin,
      kv: new PostgresKvStore(deps.db),
      queue: new InProcessMessageQueue(),
      allowPrivateAddress: deps.config.allowPrivateAddress,
      instanceName: deps.config.instanceName,
    }),
  );
});

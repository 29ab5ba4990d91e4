// What one delivery's signatures cost a sender, outside any server: the yardstick for the CPU
// per delivery the throughput case prints.
import { exportJwk, generateCryptoKeyPair, importJwk, signObject, signRequest } from "@fedify/fedify";
import { Create, Note } from "@fedify/vocab";
import { report } from "../support.ts";

/** The mean time of `rounds` runs of `task`, in ms. */
async function timed(rounds: number, task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await task();
  return (performance.now() - started) / rounds;
}

/**
 * An HTTP signature per delivery in both schemes the sender has (draft-cavage with RSA through
 * Fedify's `signRequest`; RFC 9421 with Ed25519, whose crypto is a body digest and one
 * signature: Fedify signs RSA only, so the server has a signer of its own), and an Ed25519
 * proof (once per message).
 */
export async function signingCase(): Promise<void> {
  const rsa = await importJwk(
    await exportJwk((await generateCryptoKeyPair("RSASSA-PKCS1-v1_5")).privateKey),
    "private",
  );
  const ed = await generateCryptoKeyPair("Ed25519");
  const body = JSON.stringify({ type: "Announce", object: { type: "Create", content: "x".repeat(500) } });
  const request = () =>
    new Request("http://127.0.0.1/inbox", {
      method: "POST",
      body,
      headers: { "content-type": "application/activity+json" },
    });
  const keyId = new URL("http://127.0.0.1/rooms/x#main-key");
  report(
    "federation: RSA HTTP signature (draft-cavage) per delivery",
    await timed(200, () => signRequest(request(), rsa, keyId)),
    "ms",
  );
  const bytes = new TextEncoder().encode(body);
  report(
    "federation: Ed25519 HTTP signature (RFC 9421) per delivery",
    await timed(200, async () => {
      const digest = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("base64");
      const base = `"@method": POST\n"@target-uri": http://127.0.0.1/inbox\n"content-digest": sha-256=:${digest}:`;
      await crypto.subtle.sign("Ed25519", ed.privateKey, new TextEncoder().encode(base));
    }),
    "ms",
  );
  const actor = new URL("http://127.0.0.1/users/a");
  const create = new Create({
    id: new URL("http://127.0.0.1/messages/1#create"),
    actor,
    object: new Note({ id: new URL("http://127.0.0.1/messages/1"), attribution: actor, content: "<p>hello</p>" }),
  });
  report(
    "federation: Ed25519 proof per message (once, not per peer)",
    await timed(50, () => signObject(create, ed.privateKey, new URL(`${actor.href}#multikey-2`))),
    "ms",
  );
}

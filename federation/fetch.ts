/**
 * Bounds on every outgoing HTTP request of this process. Fedify's document loaders, WebFinger
 * lookups and deliveries use the global `fetch`, with no timeout, no size limit and no check
 * of what comes back; the wrapper installed here adds those, once per process.
 * @module
 */

/** How long one remote request may take. */
export const fetchTimeoutMs = 10_000;
/** The largest ActivityPub document (actor, object, context) read from another server. */
export const maxDocumentBytes = 2 * 1024 * 1024;

/** The media types of an ActivityPub document (RFC: ActivityPub §3.2). */
const activityTypes = /^application\/activity\+json$/;
const asProfile = /profile\s*=\s*"?[^"]*https:\/\/www\.w3\.org\/ns\/activitystreams/i;

let installed = false;

/** The error a refused document fetch answers, which Fedify reports as `HTTP 502`. */
function refused(reason: string): Response {
  return new Response(reason, { status: 502, statusText: "Refused document" });
}

/** A body stream that fails once more than `limit` bytes have come. */
function capped(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new RangeError(`The document is larger than ${limit} bytes.`));
        else controller.enqueue(chunk);
      },
    }),
  );
}

/** Whether a parsed body is a JSON-LD context document (its only member is `@context`). */
function isContextDocument(json: unknown): boolean {
  return json != null && typeof json === "object" && !Array.isArray(json) && Object.keys(json).join() === "@context";
}

/**
 * Checks the answer to a request for an ActivityPub document. An actor or object counts only
 * as `application/activity+json` or `application/ld+json` with the ActivityStreams profile:
 * served as anything else (`application/octet-stream`, `text/plain`, no type at all) it is not
 * what its server publishes as ActivityPub, and Fedify would take it as JSON-LD regardless. A
 * JSON-LD context (loaded through the same request) may be any JSON type. An HTML page goes on
 * to Fedify, which follows its `alternate` link, unless it is JSON in disguise.
 */
async function checkDocument(response: Response): Promise<Response> {
  if (!response.ok || response.body == null) return response;
  const declared = Number(response.headers.get("content-length"));
  if (declared > maxDocumentBytes) return refused("too large");
  const type = response.headers.get("content-type") ?? "";
  const mediaType = type.split(";")[0]?.trim().toLowerCase() ?? "";
  const body = capped(response.body, maxDocumentBytes);
  const rebuilt = (stream: ReadableStream<Uint8Array> | string) =>
    new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
  if (activityTypes.test(mediaType) || (mediaType === "application/ld+json" && asProfile.test(type))) {
    const checked = rebuilt(body);
    // Fedify reads `url` to resolve relative links and to tell redirects apart.
    Object.defineProperty(checked, "url", { value: response.url });
    return checked;
  }
  let text: string;
  try {
    text = await new Response(body).text();
  } catch {
    return refused("too large");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: only an HTML page is of use (its alternate link), and Fedify needs its text.
    if (mediaType !== "text/html" && mediaType !== "application/xhtml+xml") return refused("not ActivityPub");
    const page = rebuilt(text);
    Object.defineProperty(page, "url", { value: response.url });
    return page;
  }
  const jsonTypes = ["application/ld+json", "application/json"];
  if (!isContextDocument(json) || !jsonTypes.includes(mediaType)) return refused(`not ActivityPub (${mediaType})`);
  const context = rebuilt(text);
  Object.defineProperty(context, "url", { value: response.url });
  return context;
}

/**
 * Installs the bounds on the process's `fetch`: every request gets a {@link fetchTimeoutMs}
 * deadline (a request with its own signal gets both), and every GET that asks for an
 * ActivityPub document has its answer checked by {@link checkDocument}.
 */
export function guardFetches(): void {
  if (installed) return;
  installed = true;
  const unbounded = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const timeout = AbortSignal.timeout(fetchTimeoutMs);
    const own = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const response = await unbounded(input, { ...init, signal: own ? AbortSignal.any([own, timeout]) : timeout });
    const request = input instanceof Request ? input : undefined;
    const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    const accept = new Headers(init?.headers ?? request?.headers).get("accept") ?? "";
    return method === "GET" && accept.startsWith("application/activity+json")
      ? await checkDocument(response)
      : response;
  };
}

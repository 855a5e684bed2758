// Uses MissionLink's GraphiQL page in a real headless browser (Debian's chromium, driven by
// playwright-core), as a person would: loads the page, opens the docs, types with autocomplete,
// runs a query, a signed-in mutation (Authorization in the Headers pane) and a subscription.
// Every request that would leave loopback is blocked and recorded.
//
// Usage: node graphiql-check.mjs BASE_URL ACCESS_TOKEN SCREENSHOT.png [STREAMER_ID]
//   BASE_URL: the server, e.g. http://127.0.0.1:8080. STREAMER_ID: the subscription's streamer
//   (any id otherwise). Once the subscription runs, prints the line "graphiql-check: subscribed"
//   to stderr, then waits up to 20 s for an event (the caller makes one happen), leaving the
//   subscription running in the screenshot.
// Prints one JSON summary to stdout; exits 1 if a step could not be done (the summary then has
// "failed"). Progress goes to stderr. CHROMIUM_BIN overrides /usr/bin/chromium.
import { chromium } from "playwright-core";

const [base, token, screenshot, streamerId = "0"] = process.argv.slice(2);
if (!base || !token || !screenshot) {
  console.error("usage: node graphiql-check.mjs BASE_URL ACCESS_TOKEN SCREENSHOT.png [STREAMER_ID]");
  process.exit(2);
}
const STEP_MS = 20_000;
const log = (message) => console.error(`graphiql-check: ${message}`);

const summary = {
  page: null,
  docs: null,
  autocomplete: null,
  query: null,
  mutation: null,
  subscription: null,
  requests: [],
  blocked: [],
  websockets: [],
  pageErrors: [],
  consoleErrors: [],
  screenshot,
};

/** Loopback only: 127.0.0.0/8, localhost, [::1]. */
function isLoopback(url) {
  let host;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

let page = null;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
  headless: true,
  // Nothing but loopback resolves, whatever the page or the browser itself tries.
  args: ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
});
let failed = null;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopback(url)) {
      summary.requests.push(url.startsWith(base) ? url.slice(base.length) || "/" : url);
      return route.continue();
    }
    summary.blocked.push(url);
    return route.abort("blockedbyclient");
  });
  page = await context.newPage();
  page.on("pageerror", (e) => summary.pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && summary.consoleErrors.push(m.text()));
  const frames = [];
  page.on("websocket", (ws) => {
    const socket = { url: ws.url(), loopback: isLoopback(ws.url()), closed: false };
    summary.websockets.push(socket);
    ws.on("framesent", (f) => frames.push({ dir: "sent", data: String(f.payload) }));
    ws.on("framereceived", (f) => frames.push({ dir: "received", data: String(f.payload) }));
    ws.on("close", () => (socket.closed = true));
  });

  // The page and its schema: GraphiQL introspects on load; the docs show the root types.
  log(`loading ${base}/graphql`);
  const response = await page.goto(`${base}/graphql`, { waitUntil: "load" });
  await page.locator(".graphiql-container").waitFor({ timeout: STEP_MS });
  summary.page = { status: response.status(), title: await page.title() };

  log("opening the docs");
  await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
  const docs = page.locator(".graphiql-doc-explorer");
  await docs.locator("a.graphiql-doc-explorer-type-name", { hasText: /^Query$/ }).first().click({ timeout: STEP_MS });
  await docs.locator(".graphiql-doc-explorer-field-name", { hasText: /^missions$/ }).waitFor({ timeout: STEP_MS });
  summary.docs = {
    title: (await docs.locator(".graphiql-doc-explorer-title").first().textContent())?.trim(),
    queryFields: await docs.locator(".graphiql-doc-explorer-field-name").allTextContents(),
  };

  const editor = page.locator(".graphiql-query-editor .CodeMirror");
  const setEditor = (locator, text) => locator.evaluate((el, t) => el.CodeMirror.setValue(t), text);
  const responsePane = page.locator(".graphiql-response .CodeMirror");
  const readResponse = () => responsePane.evaluate((el) => el.CodeMirror.getValue());

  // Autocomplete: typing inside a selection set offers the Query type's fields.
  log("typing with autocomplete");
  await setEditor(editor, "{\n  \n}");
  await editor.evaluate((el) => {
    el.CodeMirror.focus();
    el.CodeMirror.setCursor({ line: 1, ch: 2 });
  });
  await page.keyboard.type("missi", { delay: 60 });
  const hints = page.locator(".CodeMirror-hints .CodeMirror-hint");
  await hints.first().waitFor({ timeout: STEP_MS });
  summary.autocomplete = { typed: "missi", offered: await hints.allTextContents() };
  await page.keyboard.press("Escape");

  /** Puts `query`, one operation of that `kind`, in the editor, once GraphiQL has parsed it. */
  async function setQuery(query, kind) {
    await setEditor(editor, query);
    // GraphiQL parses the editor's text shortly after a change, and picks the transport (HTTP
    // or the websocket) from what it parsed: a click before that would use the previous one.
    await editor.evaluate(
      (el, k) =>
        new Promise((resolve, reject) => {
          const started = Date.now();
          const check = () => {
            if (el.CodeMirror.operations?.[0]?.operation === k) return resolve();
            if (Date.now() - started > 10_000) return reject(new Error(`GraphiQL did not parse the ${k}`));
            setTimeout(check, 50);
          };
          check();
        }),
      kind,
    );
  }

  /** Runs `query` with the execute button; the response pane's new JSON. */
  async function run(query, kind) {
    log(`running the ${kind}`);
    const before = await readResponse();
    await setQuery(query, kind);
    await page.locator("button.graphiql-execute-button").click();
    await page.waitForFunction(
      (prev) => {
        const text = document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue();
        return text !== prev && text.trim().startsWith("{");
      },
      before,
      { timeout: STEP_MS },
    );
    return JSON.parse(await readResponse());
  }

  summary.query = { result: await run("{ missions(first: 1) { nodes { id title status } } }", "query") };

  // The Headers pane: signed in from here on, for HTTP and for the socket's connection_init.
  log("setting the Authorization header in the Headers pane");
  await page.getByRole("button", { name: "Headers" }).click();
  const headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror");
  await setEditor(headers, JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));

  summary.mutation = {
    result: await run('mutation { topUp(amount: 1000, idempotencyKey: "graphiql-1") { cash } }', "mutation"),
  };

  // The subscription: GraphiQL opens /graphql/ws; it runs once the server acknowledged the
  // socket and the subscribe went out without an error.
  log("starting the subscription");
  const opened = frames.length;
  await setQuery(
    `subscription { missionChanged(streamerId: ${JSON.stringify(streamerId)}) { id status totalPledged } }`,
    "subscription",
  );
  await page.locator("button.graphiql-execute-button").click();
  const message = (dir, type) =>
    frames.slice(opened).find((f) => f.dir === dir && JSON.parse(f.data).type === type);
  const deadline = Date.now() + STEP_MS;
  while (!message("sent", "subscribe") && Date.now() < deadline) await page.waitForTimeout(100);
  // Time for the server to register the subscription before anything changes.
  await page.waitForTimeout(500);
  const init = message("sent", "connection_init");
  const sub = {
    // The access token itself reads as <token>.
    connectionInitPayload: init ? (JSON.parse(init.data.replaceAll(token, "<token>")).payload ?? null) : null,
    acknowledged: Boolean(message("received", "connection_ack")),
    subscribed: Boolean(message("sent", "subscribe")),
    error: message("received", "error")?.data ?? null,
    event: null,
  };
  summary.subscription = sub;
  if (!sub.acknowledged || !sub.subscribed || sub.error) throw new Error("the subscription did not start");
  log("subscribed");
  try {
    await page.waitForFunction(
      () => document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue().includes("missionChanged"),
      null,
      { timeout: STEP_MS },
    );
    sub.event = JSON.parse(await readResponse());
  } catch {
    log("no subscription event within 20 s");
  }
  sub.messages = frames.slice(opened).map((f) => `${f.dir} ${JSON.parse(f.data).type}`);

  await page.screenshot({ path: screenshot });
  log(`screenshot in ${screenshot}`);
} catch (e) {
  failed = String(e && e.stack ? e.stack : e);
  summary.failed = failed;
  // What the page showed when it failed.
  await page?.screenshot({ path: screenshot }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
process.exit(failed ? 1 : 0);

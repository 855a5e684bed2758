// Drives MissionLink's overlay page (GET /overlay/<token>) in a real headless browser (Debian's
// chromium, through playwright-core) for a test that makes things happen around it: the test
// sends one command per line on stdin and reads one JSON answer per line on stdout. Every
// request that would leave loopback is blocked and recorded. Progress goes to stderr.
//
// Commands (JSON objects):
//   {"cmd":"open","name":N,"url":U}               open U in a new tab named N, wait until the page
//                                                 follows its feed (status "live")
//   {"cmd":"waitSeq","name":N,"seq":S}            wait until tab N has applied event S
//   {"cmd":"waitStatus","name":N,"status":X}      wait until tab N's status is X
//   {"cmd":"waitScale","name":N,"scale":S}        wait until tab N applies settings of scale S
//   {"cmd":"snapshot","name":N}                   what tab N shows now
//   {"cmd":"screenshot","name":N,"path":P}        a PNG of tab N
//   {"cmd":"report"}                              requests, blocked requests, page and console errors
//   {"cmd":"close"}                               close the browser and exit
// Waits take "timeoutMs" (default 20 000). Every answer is {"ok":true,...} or {"ok":false,
// "error":...} with the tab's snapshot when there is one. A snapshot is the page's
// window.__overlay (status, lastSeq, shown, connects, reloads, errors, settings) and its DOM:
// lang, mission cards (hidden or not), alerts, the notice, and where the card column and the
// alerts sit on the screen (bounding boxes, after scaling). CHROMIUM_BIN overrides /usr/bin/chromium.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const log = (message) => console.error(`overlay-check: ${message}`);
const report = { requests: [], blocked: [], websockets: [], pageErrors: [], consoleErrors: [] };

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

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
  headless: true,
  // Nothing but loopback resolves, whatever the page or the browser itself tries.
  args: ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
});
// An OBS browser source's usual size.
const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (isLoopback(url)) {
    report.requests.push(url.replace(/\/overlay\/[^/?#]+/, "/overlay/<token>"));
    return route.continue();
  }
  report.blocked.push(url);
  return route.abort("blockedbyclient");
});

const tabs = new Map();

/** What tab `name` shows now. */
async function snapshot(name) {
  const page = tabs.get(name);
  if (!page) throw new Error(`no tab ${name}`);
  return page.evaluate(() => {
    const text = (el, sel) => el.querySelector(sel)?.textContent ?? null;
    const notice = document.getElementById("notice");
    return {
      hooks: window.__overlay ?? null,
      lang: document.documentElement.lang,
      title: document.title,
      bodyStatus: document.body.dataset.status,
      missions: [...document.querySelectorAll("#missions .mission")].map((el) => ({
        id: el.dataset.missionId,
        status: el.dataset.status,
        title: text(el, ".title"),
        meta: text(el, ".meta"),
        clock: text(el, ".clock"),
        hidden: el.hidden,
      })),
      alerts: [...document.querySelectorAll("#alerts .alert")].map((el) => ({
        seq: Number(el.dataset.seq),
        kind: el.dataset.kind,
        className: el.className,
        text: el.innerText,
      })),
      notice: { hidden: notice.hidden, text: notice.textContent },
      background: getComputedStyle(document.body).backgroundColor,
      layout: Object.fromEntries(
        ["missions", "alerts"].map((id) => {
          const r = document.getElementById(id).getBoundingClientRect();
          return [id, { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width }];
        }),
      ),
    };
  });
}

async function waitUntil(name, predicate, arg, timeoutMs) {
  const page = tabs.get(name);
  if (!page) throw new Error(`no tab ${name}`);
  await page.waitForFunction(predicate, arg, { timeout: timeoutMs, polling: 20 });
}

async function handle(command) {
  const timeoutMs = command.timeoutMs ?? 20_000;
  switch (command.cmd) {
    case "open": {
      const page = await context.newPage();
      tabs.set(command.name, page);
      page.on("pageerror", (e) => report.pageErrors.push(`${command.name}: ${e}`));
      page.on("console", (m) => {
        if (m.type() === "error") report.consoleErrors.push(`${command.name}: ${m.text()}`);
      });
      page.on("websocket", (ws) => report.websockets.push({ tab: command.name, loopback: isLoopback(ws.url()) }));
      log(`opening tab ${command.name}`);
      const response = await page.goto(command.url, { waitUntil: "load" });
      const status = response.status();
      if (status !== 200) return { ok: false, error: `HTTP ${status}`, httpStatus: status };
      await waitUntil(command.name, () => window.__overlay?.status === "live", null, timeoutMs);
      return { ok: true, httpStatus: status, snapshot: await snapshot(command.name) };
    }
    case "waitSeq":
      await waitUntil(command.name, (seq) => (window.__overlay?.lastSeq ?? -1) >= seq, command.seq, timeoutMs);
      return { ok: true, snapshot: await snapshot(command.name) };
    case "waitStatus":
      await waitUntil(command.name, (status) => window.__overlay?.status === status, command.status, timeoutMs);
      return { ok: true, snapshot: await snapshot(command.name) };
    case "waitScale":
      await waitUntil(command.name, (scale) => window.__overlay?.settings?.scale === scale, command.scale, timeoutMs);
      return { ok: true, snapshot: await snapshot(command.name) };
    case "snapshot":
      return { ok: true, snapshot: await snapshot(command.name) };
    case "screenshot":
      // Transparent where the page is, as OBS composites it; animations finished.
      await tabs.get(command.name).screenshot({ path: command.path, omitBackground: true, animations: "disabled" });
      log(`screenshot in ${command.path}`);
      return { ok: true, path: command.path };
    case "report":
      return { ok: true, report };
    case "close":
      await browser.close();
      return { ok: true };
    default:
      return { ok: false, error: `unknown command ${command.cmd}` };
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let command = null;
  let answer;
  try {
    command = JSON.parse(line);
    answer = await handle(command);
  } catch (e) {
    answer = { ok: false, error: String(e && e.stack ? e.stack : e) };
    if (command?.name && tabs.has(command.name)) {
      answer.snapshot = await snapshot(command.name).catch(() => null);
    }
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  if (command?.cmd === "close") break;
}
await browser.close().catch(() => {});
process.exit(0);

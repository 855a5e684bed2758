// Uses the page an account email's link opens (/account/verify-email, /account/reset-password) in
// a real headless browser (Debian's chromium, driven by playwright-core), as a person would:
// opens the link, types the new password when the page asks for one, presses the button, and
// reads what the page then says. Every request that would leave loopback is blocked and recorded.
//
// Usage: node account-page-check.mjs LINK SCREENSHOT.png [NEW_PASSWORD]
// Prints one JSON summary to stdout ({ before, after, status, blocked, pageErrors }); exits 1 if
// a step could not be done (the summary then has "failed"). CHROMIUM_BIN overrides
// /usr/bin/chromium.
import { chromium } from "playwright-core";

const [link, screenshot, password] = process.argv.slice(2);
if (!link || !screenshot) {
  console.error("usage: node account-page-check.mjs LINK SCREENSHOT.png [NEW_PASSWORD]");
  process.exit(2);
}
const STEP_MS = 20_000;

function isLoopback(url) {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

const summary = { before: null, after: null, status: null, blocked: [], pageErrors: [], screenshot };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
  headless: true,
  args: ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
});
let failed = null;
try {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopback(url) || url.startsWith("data:")) return route.continue();
    summary.blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => summary.pageErrors.push(String(e)));
  await page.goto(link, { timeout: STEP_MS });
  summary.before = await page.locator("main").innerText({ timeout: STEP_MS });
  if (password) {
    await page.getByLabel(/password|비밀번호/i).fill(password, { timeout: STEP_MS });
  }
  const [response] = await Promise.all([
    page.waitForNavigation({ timeout: STEP_MS }),
    page.getByRole("button").click({ timeout: STEP_MS }),
  ]);
  summary.status = response ? response.status() : null;
  summary.after = await page.locator("main").innerText({ timeout: STEP_MS });
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  failed = String(e);
  summary.failed = failed;
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
process.exit(failed ? 1 : 0);

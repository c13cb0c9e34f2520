// store_ui.mjs: the store's web pages driven in headless Chromium by playwright-core.
//
// Environment (test_store_ui.sh sets it): STORE_URL, CHROMIUM (the browser binary),
// SERVICE_ID (the "Image Upscaler API", which ALICE_TOKEN's subject paid a call of),
// ALICE_TOKEN, DAVE_TOKEN (a user who paid for nothing). The catalogue holds three services:
// "Image Upscaler API" (tags ai, image; 1 FLOP), "Text Translator" (ai, nlp; 0.5 FLOP) and
// "Weather Feed" (data, weather; 0.1 FLOP).
//
// Every check prints "ok" or "FAIL"; the exit status is the number of failures (capped).
import { chromium } from "playwright-core";

const env = (k) => {
  if (!process.env[k])
    throw new Error(`${k} is not set`);
  return process.env[k];
};
const STORE = env("STORE_URL");
const SERVICE = env("SERVICE_ID");
let failures = 0;

function check(what, ok, detail) {
  console.log(`${ok ? "ok" : "FAIL"}: ${what}${ok || detail === undefined ? "" : ` (${detail})`}`);
  if (!ok)
    failures++;
}

// the names of the results shown, once the list shows the search in the address
async function resultNames(page) {
  await page.waitForFunction(() => {
    const list = document.getElementById("results");
    return list.dataset.for === location.hash && list.getAttribute("aria-busy") === "false";
  });
  return page.locator("#results h2").allTextContents();
}

async function search(page, fields) {
  for (const [id, value] of Object.entries(fields)) {
    const el = page.locator(`#${id}`);
    if (await el.evaluate((e) => e.tagName) === "SELECT")
      await el.selectOption(value);
    else
      await el.fill(value);
  }
  await page.getByRole("button", { name: "Search" }).click();
  return resultNames(page);
}

const sameSet = (a, b) => a.length === b.length && [...a].sort().join("|") === [...b].sort().join("|");

async function browse(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // failed requests are the checks' business (a bad filter is one on purpose)
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 400/.test(m.text()))
      errors.push(m.text());
  });
  await page.goto(STORE + "/");
  check("the page has a title", (await page.title()) === "Dux_OS Store");
  let names = await resultNames(page);
  check("the front page lists the catalogue, newest first",
        names.join("|") === "Weather Feed|Text Translator|Image Upscaler API", names.join("|"));
  check("the status line counts them", /3 services found/.test(await page.locator("#status").textContent()));

  names = await search(page, { q: "upscaling" });
  check("a search by word finds the upscaler (stemmed)", sameSet(names, ["Image Upscaler API"]), names.join("|"));
  check("the search is in the address", /q=upscaling/.test(page.url()), page.url());

  names = await search(page, { q: "", tag: "ai" });
  check("a tag filter", sameSet(names, ["Image Upscaler API", "Text Translator"]), names.join("|"));

  names = await search(page, { tag: "ai", max_price: "0.5" });
  check("a tag and a price filter", sameSet(names, ["Text Translator"]), names.join("|"));

  names = await search(page, { tag: "", max_price: "", sort: "price" });
  check("sorted by price", names.join("|") === "Weather Feed|Text Translator|Image Upscaler API", names.join("|"));

  names = await search(page, { sort: "", q: "nothing-matches-this" });
  check("no result says so", names.length === 0 &&
        /No services found/.test(await page.locator("#status").textContent()));

  await search(page, { q: "", min_price: "abc" });
  const alert = page.locator("#error");
  check("a bad filter shows the store's problem", await alert.isVisible() &&
        /min_price/.test(await alert.textContent()), await alert.textContent());
  await page.locator("#min_price").fill("");

  // a tag of a result is a link to that filter
  await search(page, {});
  await page.locator("#results a.tag", { hasText: "weather" }).first().click();
  names = await resultNames(page);
  check("clicking a tag filters by it", sameSet(names, ["Weather Feed"]), names.join("|"));
  check("no script errors while browsing", errors.length === 0, errors.join("; "));
}

async function serviceAndReview(page) {
  await page.goto(STORE + "/");
  await resultNames(page);
  await page.getByRole("link", { name: "Image Upscaler API" }).click();
  await page.waitForURL(`**/#/service/${SERVICE}`);
  await page.waitForFunction(() => document.getElementById("svc-name").textContent !== "");
  check("the service page shows its name", (await page.locator("#svc-name").textContent()) === "Image Upscaler API");
  check("and its price", (await page.locator("#svc-price").textContent()) === "1 FLOP per call");
  check("and its paid calls", (await page.locator("#svc-calls").textContent()) === "1");
  check("and that nobody rated it", (await page.locator("#svc-ratings").textContent()) === "none yet");
  check("and no reviews", /No reviews yet/.test(await page.locator("#reviews").textContent()));

  // a rating without a token, then with a token whose subject paid for nothing
  await page.getByLabel("4").check();
  await page.getByRole("button", { name: "Submit rating" }).click();
  const err = page.locator("#review-error");
  check("rating unsigned asks for a token", /sign in/.test(await err.textContent()));
  await signIn(page, env("DAVE_TOKEN"));
  check("the header names the signed-in subject", /Signed in as dave/.test(await page.locator("#who").textContent()));
  await page.getByRole("button", { name: "Submit rating" }).click();
  await page.waitForFunction(() => /paid/.test(document.getElementById("review-error").textContent));
  check("a caller who paid nothing is refused with the store's reason", true);

  await signIn(page, env("ALICE_TOKEN"));
  await page.getByLabel("4").check();
  await page.getByRole("textbox", { name: /^Review/ }).fill("Sharp results, fast.");
  await page.getByRole("button", { name: "Submit rating" }).click();
  await page.waitForFunction(() => /saved/.test(document.getElementById("review-status").textContent));
  check("the rating is saved", await page.locator("#review-error").isHidden());
  const reviews = await page.locator("#reviews li").allTextContents();
  check("the review is shown", reviews.length === 1 && /Sharp results, fast\./.test(reviews[0]) &&
        /by alice/.test(reviews[0]), reviews.join("|"));
  check("the ratings are updated", (await page.locator("#svc-ratings").textContent()) === "1 (mean 4.00)",
        await page.locator("#svc-ratings").textContent());

  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll("#reviews li").length > 0);
  check("the review is still there after a reload",
        /Sharp results/.test(await page.locator("#reviews").textContent()));
  await page.getByRole("link", { name: /Back to the results/ }).click();
  await page.waitForFunction(() => !document.getElementById("browse").hidden);
  const names = await resultNames(page);
  check("back to the results", names.length === 3, names.join("|"));
}

async function signIn(page, token) {
  const details = page.locator("details.signin");
  if (!(await details.evaluate((d) => d.open)))
    await page.locator("#who").click();
  await page.getByLabel(/Bearer token/).fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
}

// phone-sized: nothing wider than the screen, every control labelled, big enough to tap
async function phone(browser) {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(STORE + "/");
  await resultNames(page);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check("no sideways scrolling on a 360 px screen", wide <= 0, `${wide} px too wide`);
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea")]
    .filter((e) => e.type !== "radio" && e.labels.length === 0 && !e.getAttribute("aria-label"))
    .map((e) => e.id || e.name));
  check("every field has a label", unlabelled.length === 0, unlabelled.join(","));
  const small = await page.evaluate(() => [...document.querySelectorAll("button")]
    .filter((b) => b.offsetParent !== null && b.getBoundingClientRect().height < 40)
    .map((b) => b.textContent));
  check("buttons are at least 40 px high", small.length === 0, small.join(","));
  await page.getByRole("link", { name: "Weather Feed" }).tap();
  await page.waitForFunction(() => document.getElementById("svc-name").textContent === "Weather Feed");
  const wide2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check("the service page fits the screen too", wide2 <= 0, `${wide2} px too wide`);
  await ctx.close();
}

async function headers() {
  const resp = await fetch(STORE + "/");
  check("GET / is HTML", /^text\/html/.test(resp.headers.get("content-type")));
  check("with a Content-Security-Policy", /default-src 'none'/.test(resp.headers.get("content-security-policy") || ""));
  const missing = await fetch(STORE + "/ui/nope.js");
  check("an unknown asset is 404", missing.status === 404);
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  await headers();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  ctx.setDefaultTimeout(15000);
  await browse(await ctx.newPage());
  await serviceAndReview(await ctx.newPage());
  await ctx.close();
  await phone(browser);
} catch (e) {
  check("the run finished", false, e.stack || String(e));
} finally {
  await browser.close();
}
console.log(failures ? `${failures} check(s) failed` : "all browser checks passed");
process.exit(Math.min(failures, 100));

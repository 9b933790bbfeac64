// The workflow page: PDF → report, spreadsheet → matches, preview and download of the BOL CSV
// (or its Excel workbook).
// It works on a workspace of this tab's own, through the same endpoints as any client.
import { call, callPatiently, element, problem, showProblem } from "./api.js";

const PREVIEW_ROWS = 50;
// Columns a person checks first: shown highlighted in the preview.
const KEY_COLUMNS = new Set(["Invoice No.", "BOL Cube", "Final Cube", "Burlington Cube", "Pallet"]);
const $ = (id) => document.getElementById(id);

// This tab's workspace: 128 random bits, kept in sessionStorage, so a reload keeps the work
// and another tab gets a workspace of its own.
function workspaceId() {
  let sid = sessionStorage.getItem("bolservice.sid");
  if (!sid) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    sid = "web-" + Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("bolservice.sid", sid);
  }
  return sid;
}

const sid = workspaceId();
const at = (path) => `${path}?_sid=${encodeURIComponent(sid)}`;
const errorBox = $("error");

// The two upload steps, told apart by their element ids' prefix.
const STEPS = {
  pdf: { endpoint: "/upload", busy: "Reading the PDF…", shows: showPdfReport },
  sheet: { endpoint: "/upload-csv", busy: "Matching the spreadsheet with the PDF's rows…", shows: showSheetReport },
};

function setState(step, text, busy = false) {
  const line = $(`${step}-state`);
  line.textContent = text;
  line.classList.toggle("busy", busy);
}

function enable(stepId, on) {
  $(stepId).setAttribute("aria-disabled", on ? "false" : "true");
}

// A step's warnings: each with its page, from an upload's answer; after a reload, /status
// keeps only how many there were.
function showWarnings(step, warnings, when) {
  const lines = Array.isArray(warnings)
    ? warnings.map((warning) => (warning.page ? `Page ${warning.page}: ` : "") + warning.message +
        (warning.text ? ` [${warning.text}]` : ""))
    : (warnings ? [`${warnings} warning(s) when it was ${when}`] : []);
  $(`${step}-warnings`).replaceChildren(...lines.map((line) => element("li", line)));
}

function showPdfReport(report) {
  $("pdf-pages").textContent = report.pages;
  $("pdf-invoices").textContent = report.invoices;
  $("pdf-rows").textContent = report.rows;
  showWarnings("pdf", report.warnings, "read");
  $("pdf-report").hidden = false;
  $("sheet-file").disabled = false;
  enable("sheet-step", true);
}

function showSheetReport(report) {
  $("sheet-rows").textContent = report.rows_in_file;
  $("sheet-matched").textContent = report.rows_matched;
  $("sheet-pdf-unmatched").textContent = report.pdf_rows_unmatched;
  $("sheet-file-unmatched").textContent = report.file_rows_unmatched;
  showWarnings("sheet", report.warnings, "merged");
  $("sheet-report").hidden = false;
}

// A step back to before its upload: no report, no file chosen, nothing said.
function forgetStep(step) {
  $(`${step}-report`).hidden = true;
  $(`${step}-warnings`).replaceChildren();
  $(`${step}-file`).value = "";
  setState(step, "");
}

async function upload(step, file) {
  const { endpoint, busy, shows } = STEPS[step];
  const input = $(`${step}-file`);
  const progress = $(`${step}-progress`);
  showProblem(errorBox, null);
  input.disabled = true;
  progress.value = 0;
  progress.hidden = false;
  setState(step, `Sending ${file.name}…`, true);
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const answer = await callPatiently("POST", at(endpoint), {
      body: form,
      onProgress: (done) => {
        progress.value = Math.round(done * 100);
        if (done >= 1) setState(step, busy, true);
      },
    }, (seconds) => setState(step, `The service is busy; sending again in ${seconds} s…`, true));
    if (answer.status !== 200) {
      setState(step, `${file.name} was not accepted.`);
      showProblem(errorBox, problem(answer));
      return;
    }
    if (step === "pdf") forgetStep("sheet");  // a new PDF discards the merge
    shows(answer.data);
    setState(step, answer.data.message ? `${file.name}: ${answer.data.message}.` : `${file.name} done.`);
    await showResult();
  } catch (failure) {
    setState(step, `${file.name} was not sent.`);
    showProblem(errorBox, { said: failure.message, todo: "" });
  } finally {
    progress.hidden = true;
    input.disabled = false;
  }
}

// A CSV text as rows of cells (RFC 4180: quoted cells may hold commas, quotes and newlines).
function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

// The first rows as a table: columns empty in all of them are left out (the download has
// all 28), rows of one invoice are grouped, Pallet and the cubes are highlighted.
function previewTable(rows) {
  const [header, ...body] = rows;
  const shown = body.slice(0, PREVIEW_ROWS);
  const invoiceAt = header.indexOf("Invoice No.");
  const columns = header.map((name, at) => at).filter((at) => shown.some((cells) => cells[at]));
  const headRow = element("tr");
  for (const at of columns) {
    const cell = element("th", header[at], KEY_COLUMNS.has(header[at]) ? "key" : "");
    cell.scope = "col";
    headRow.append(cell);
  }
  $("preview").tHead.replaceChildren(headRow);
  let group = -1, invoice = null;
  const lines = shown.map((cells) => {
    const line = element("tr");
    if (cells[invoiceAt] !== invoice) {
      invoice = cells[invoiceAt];
      group += 1;
      line.classList.add("group-start");
    }
    if (group % 2) line.classList.add("group-odd");
    for (const at of columns) {
      const value = cells[at] || "";
      const kinds = [/^-?[\d.]+$/.test(value) ? "number" : "", KEY_COLUMNS.has(header[at]) ? "key" : ""];
      line.append(element("td", value, kinds.filter(Boolean).join(" ")));
    }
    return line;
  });
  $("preview").tBodies[0].replaceChildren(...lines);
  return { rows: body.length, hidden: header.length - columns.length };
}

async function showResult() {
  const answer = await call("GET", at("/download-bol"));
  if (answer.status !== 200) {
    $("preview-box").hidden = true;
    showDownloads(false);
    return;
  }
  const { rows, hidden } = previewTable(parseCsv(answer.text));
  const shown = Math.min(rows, PREVIEW_ROWS);
  $("result-state").textContent = `${rows} row(s)` + (rows > shown ? `; the first ${shown} are shown` : "") +
    `, grouped by invoice, with Pallet and the cubes highlighted` +
    (hidden ? `. ${hidden} column(s) empty in these rows are left out here; the download has all of them.` : ".");
  $("preview-box").hidden = false;
  $("download").href = at("/download-bol");
  $("download-xlsx").href = at("/download-bol") + "&format=xlsx";
  showDownloads(true);
  enable("result-step", true);
}

// The CSV and its workbook are offered together, or neither.
function showDownloads(shown) {
  $("download").hidden = !shown;
  $("download-xlsx").hidden = !shown;
}

async function startOver() {
  showProblem(errorBox, null);
  const answer = await call("POST", at("/clear-session"));
  if (answer.status !== 200) {
    showProblem(errorBox, problem(answer));
    return;
  }
  for (const step of Object.keys(STEPS)) forgetStep(step);
  $("sheet-file").disabled = true;
  enable("sheet-step", false);
  enable("result-step", false);
  $("preview-box").hidden = true;
  showDownloads(false);
  $("result-state").textContent = "Started over: the workspace is empty. Choose a PDF to begin.";
  $("pdf-file").focus();
}

// After a reload: what this tab's workspace already holds.
async function restore() {
  const answer = await call("GET", at("/status"));
  if (answer.status !== 200 || !answer.data.exists) return;
  const { pdf, csv } = answer.data;
  if (pdf) {
    showPdfReport(pdf);
    setState("pdf", `${pdf.filename} was read earlier in this tab.`);
  }
  if (csv) {
    showSheetReport(csv);
    setState("sheet", `${csv.filename} was merged earlier in this tab.`);
  }
  if (pdf) await showResult();
}

function wire(step) {
  const input = $(`${step}-file`);
  const drop = $(`${step}-drop`);
  input.addEventListener("change", () => { if (input.files.length) upload(step, input.files[0]); });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (!input.disabled) drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (!input.disabled && event.dataTransfer.files.length) upload(step, event.dataTransfer.files[0]);
  });
}

wire("pdf");
wire("sheet");
$("start-over").addEventListener("click", startOver);
restore();

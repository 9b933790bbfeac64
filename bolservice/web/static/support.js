// The support view: /debug-sessions as a live table, a page of 100 at a time, filtered by id
// prefix. The token is typed here, kept in sessionStorage and sent as Authorization: Bearer,
// never in a URL.
import { call, element, problem, showProblem } from "./api.js";

const PAGE = 100;
const REFRESH_MS = 4000;
const $ = (id) => document.getElementById(id);
const errorBox = $("error");
const view = { offset: 0, total: 0, selected: null, timer: null };

const token = () => sessionStorage.getItem("bolservice.token") || "";

function listingPath(query) {
  return "/debug-sessions?" + new URLSearchParams(query).toString();
}

async function ask(query) {
  return call("GET", listingPath(query), { headers: { Authorization: `Bearer ${token()}` } });
}

// The token dropped, and with it everything it showed.
function forget() {
  clearTimeout(view.timer);
  sessionStorage.removeItem("bolservice.token");
  $("listing").hidden = true;
  $("details").hidden = true;
  $("forget").hidden = true;
}

function refused() {
  forget();
  showProblem(errorBox, { said: "The support token was refused.",
                         todo: "Type the token again: it is BOLSERVICE_DEBUG_TOKEN, or the one the service printed in its log at start." });
  $("token").focus();
}

function since(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

const when = (iso) => (iso ? iso.replace("T", " ").replace("+00:00", " UTC") : "");
const count = (value) => (value === undefined || value === null ? "" : String(value));

function row(entry) {
  const line = element("tr");
  if (entry.session_id === view.selected) line.classList.add("selected");
  const open = element("button", entry.session_id, "link");
  open.type = "button";
  open.addEventListener("click", () => select(entry.session_id));
  const idCell = element("td");
  idCell.append(open);
  const pdf = entry.pdf || {}, csv = entry.csv || {};
  const warnings = (pdf.warnings || 0) + (csv.warnings || 0);
  line.append(idCell, element("td", entry.stage), element("td", when(entry.created_at)),
    element("td", since(entry.idle_seconds)), element("td", entry.locked ? "yes" : "no"),
    element("td", count(pdf.pages), "number"), element("td", count(pdf.rows), "number"),
    element("td", count(csv.rows_matched), "number"), element("td", String(warnings), "number"));
  return line;
}

async function refresh() {
  clearTimeout(view.timer);
  if (!token()) return;
  const prefix = $("prefix");
  if (!prefix.validity.valid) {
    $("listing-state").textContent = "An id holds only letters, digits, _ and -.";
    view.timer = setTimeout(refresh, REFRESH_MS);
    return;
  }
  try {
    const answer = await ask({ limit: PAGE, offset: view.offset, prefix: prefix.value });
    if (answer.status === 401) return refused();
    if (answer.status !== 200) {
      showProblem(errorBox, problem(answer));
    } else {
      showProblem(errorBox, null);
      show(answer.data);
      if (view.selected) await showDetails(view.selected);
    }
  } catch (failure) {
    showProblem(errorBox, { said: failure.message, todo: "The table refreshes on its own once the service answers." });
  }
  view.timer = setTimeout(refresh, REFRESH_MS);
}

function show(listing) {
  view.total = listing.total_sessions;
  if (view.offset >= view.total && view.offset > 0) {  // the page emptied under us: go back
    view.offset = Math.max(0, Math.floor((view.total - 1) / PAGE) * PAGE);
    return refresh();
  }
  $("listing").hidden = false;
  $("forget").hidden = false;
  // Rows are replaced in place: the table, its scroll and the filter stay as they are.
  $("workspaces").tBodies[0].replaceChildren(...listing.all_sessions.map(row));
  const first = listing.all_sessions.length ? view.offset + 1 : 0;
  const last = view.offset + listing.all_sessions.length;
  $("page-state").textContent = `${first}–${last} of ${view.total}`;
  $("previous").disabled = view.offset === 0;
  $("next").disabled = last >= view.total;
  const filtered = listing.prefix ? ` whose id starts with “${listing.prefix}”` : "";
  $("listing-state").textContent = `${view.total} workspace(s)${filtered}; updated ${new Date().toLocaleTimeString()}.`;
}

function detail(list, name, value) {
  list.append(element("dt", name), element("dd", value));
}

async function showDetails(sid) {
  const answer = await ask({ _sid: sid, limit: 0 });
  if (answer.status === 401) return refused();
  const box = $("details");
  const list = $("details-list");
  $("details-title").textContent = `Workspace ${sid}`;
  list.replaceChildren();
  box.hidden = false;
  const entry = answer.status === 200 ? answer.data.current_session : null;
  if (!entry) {
    detail(list, "State", "This workspace does not exist (any more).");
    return;
  }
  detail(list, "Stage", entry.stage);
  detail(list, "Created", when(entry.created_at));
  detail(list, "Last changed", `${when(entry.updated_at)} (idle for ${since(entry.idle_seconds)})`);
  detail(list, "Locked now", entry.locked ? "yes: a request is working on it" : "no");
  for (const [name, size] of Object.entries(entry.files || {})) detail(list, `File ${name}`, `${size.toLocaleString()} bytes`);
  if (entry.pdf) {
    detail(list, "PDF", `${entry.pdf.filename}: ${entry.pdf.pages} page(s), ${entry.pdf.invoices} invoice(s), ${entry.pdf.rows} row(s)`);
    detail(list, "PDF warnings", String(entry.pdf.warnings));
  }
  if (entry.csv) {
    detail(list, "Spreadsheet", `${entry.csv.filename}: ${entry.csv.rows_in_file} row(s), ${entry.csv.rows_matched} matched; ` +
      `${entry.csv.pdf_rows_unmatched} PDF row(s) and ${entry.csv.file_rows_unmatched} spreadsheet row(s) unmatched`);
    detail(list, "Spreadsheet warnings", String(entry.csv.warnings));
  }
  detail(list, "Next step", answer.data.workflow_status.next_step);
}

async function select(sid) {
  view.selected = sid;
  for (const line of $("workspaces").tBodies[0].rows) {
    line.classList.toggle("selected", line.cells[0].textContent === sid);
  }
  await showDetails(sid);
  $("details").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("bolservice.token", $("token").value);
  $("token").value = "";
  view.offset = 0;
  refresh();
});
$("forget").addEventListener("click", forget);
let typing = null;
$("prefix").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => { view.offset = 0; refresh(); }, 300);
});
$("previous").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE); refresh(); });
$("next").addEventListener("click", () => { view.offset += PAGE; refresh(); });
document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
refresh();

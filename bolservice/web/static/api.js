// What both pages share: calling the service and showing what it answered.

// A request to the service: resolves with {status, data (the JSON answer, or null), text,
// retryAfter}; rejects only when the network fails. XMLHttpRequest, not fetch, because
// only it reports an upload's progress.
export function call(method, path, { body = null, headers = {}, onProgress = null } = {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, path);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    if (onProgress) {
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      request.upload.addEventListener("load", () => onProgress(1));
    }
    request.addEventListener("load", () => {
      let data = null;
      if ((request.getResponseHeader("Content-Type") || "").includes("json")) {
        try { data = JSON.parse(request.responseText); } catch { data = null; }
      }
      resolve({ status: request.status, data, text: request.responseText,
                retryAfter: Number(request.getResponseHeader("Retry-After")) || 0 });
    });
    request.addEventListener("error", () => reject(new Error(
      "The service could not be reached. Check your connection and try again.")));
    request.send(body);
  });
}

// Like call, but waits out a busy service (503 or 409 with Retry-After) a few times, as a
// well-behaved client does, telling the person what is happening.
export async function callPatiently(method, path, options = {}, onWait = () => {}) {
  for (let attempt = 0; ; attempt += 1) {
    const answer = await call(method, path, options);
    if (![409, 503].includes(answer.status) || !answer.retryAfter || attempt === 4) return answer;
    onWait(answer.retryAfter);
    await new Promise((resolve) => setTimeout(resolve, answer.retryAfter * 1000));
  }
}

// What to tell a person about a failed answer: the service's own message, and what to do,
// chosen by the answer's code (its kind of failure), or by its status when it has none
// (an answer from a proxy in front).
export function problem(answer) {
  const said = answer.data && answer.data.error ? answer.data.error : `the service answered ${answer.status}`;
  const code = answer.data && answer.data.code;
  const byCode = {
    missing_step: "Upload the PDF first, then try this step again.",
    body_timeout: "The upload stalled; check your connection and try again.",
    overloaded: "The service is busy; try again in a minute.",
    unhealthy: "The service is not ready to work; ask support.",
  };
  const byStatus = {
    400: "Check the file and try again.",
    404: "Start again from the first step.",
    409: "Another request is working on this workspace; wait a moment and try again.",
    413: "The file is larger than the service accepts; split it or ask support to raise the limit.",
    415: "Choose a file of the kind this step takes.",
    422: "The file was read but cannot be used; check that it is the right document.",
    503: "The service is busy; try again in a minute.",
    504: "The file took too long to process; try a smaller one or ask support.",
    507: "The service is out of disk space; ask support.",
  };
  const todo = byCode[code] || byStatus[answer.status] || "Try again; if it keeps failing, ask support.";
  return { said, todo };
}

// Shows a problem in the page's alert box, or hides the box when there is none.
export function showProblem(box, found) {
  box.replaceChildren();
  box.hidden = !found;
  if (!found) return;
  const title = document.createElement("strong");
  title.textContent = found.said.charAt(0).toUpperCase() + found.said.slice(1);
  const todo = document.createElement("span");
  todo.textContent = found.todo;
  box.append(title, todo);
}

// An element with text, for building the pages without HTML strings.
export function element(tag, text = "", className = "") {
  const made = document.createElement(tag);
  if (text !== "") made.textContent = text;
  if (className) made.className = className;
  return made;
}

// Sportello's console: the live parts, by polling the server for HTML it renders anyway.
// - The queue refreshes its rows in place every 10 s, from the same page key, and keeps the
//   operator's focus and scroll.
// - A live chat appends new messages every 3 s; the list is an aria-live region.
// - "Use in answer" puts the article's text into the answer without leaving the page.
"use strict";
(function () {
  function poll(every, run) {
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      run().catch(function () {}).then(function () { busy = false; });
    }, every);
  }

  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (r.redirected || !r.ok) throw new Error("refresh failed");
      return r.text();
    });
  }

  function liveQueue(box) {
    poll(10000, function () {
      var status = box.querySelector("#queue-status");
      if (!status) return Promise.resolve();
      return fetchHtml(status.getAttribute("data-rows-href")).then(function (html) {
        var active = document.activeElement;
        var focusRef = active && box.contains(active) && active.closest("tr") ? active.closest("tr").getAttribute("data-ref") : null;
        var focusHref = active && box.contains(active) ? active.getAttribute("href") : null;
        var y = window.scrollY;
        var next = document.createElement("div");
        next.innerHTML = html;
        var oldBody = box.querySelector("tbody"), newBody = next.querySelector("tbody");
        if (oldBody && newBody && oldBody.innerHTML.trim() === newBody.innerHTML.trim()) {
          // Only the time changed: leave the rows alone, update the status line.
          var t = box.querySelector("#queue-status .muted"), nt = next.querySelector("#queue-status .muted");
          if (t && nt) t.textContent = nt.textContent;
          return;
        }
        box.innerHTML = next.innerHTML;
        var target = null;
        if (focusRef) target = box.querySelector('tr[data-ref="' + focusRef + '"] a');
        if (!target && focusHref) target = box.querySelector('a[href="' + focusHref + '"]');
        if (target) target.focus({ preventScroll: true });
        window.scrollTo(0, y);
      });
    });
  }

  function liveChat(list) {
    var href = list.getAttribute("data-poll-href");
    poll(3000, function () {
      var count = parseInt(list.getAttribute("data-count") || "0", 10);
      return fetchHtml(href + "?after=" + count).then(function (html) {
        var holder = document.createElement("ol");
        holder.innerHTML = html;
        var items = holder.querySelectorAll("li");
        if (!items.length) return;
        var empty = document.getElementById("conversation-empty");
        if (empty) empty.remove();
        items.forEach(function (li) { list.appendChild(li); });
        list.setAttribute("data-count", String(count + items.length));
      });
    });
  }

  function useInAnswer() {
    document.addEventListener("click", function (e) {
      var link = e.target.closest ? e.target.closest("[data-use-answer]") : null;
      var answer = document.getElementById("answer");
      if (!link || !answer) return;
      e.preventDefault();
      var text = link.getAttribute("data-use-answer");
      answer.value = answer.value.trim() ? answer.value.replace(/\s+$/, "") + "\n\n" + text : text;
      answer.focus();
      answer.setSelectionRange(answer.value.length, answer.value.length);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var queue = document.querySelector("[data-live-queue]");
    if (queue) liveQueue(queue);
    var chat = document.querySelector("#conversation[data-poll-href]");
    if (chat) liveChat(chat);
    useInAnswer();
    // After an action, the page lands on its anchor: move focus there for keyboard users.
    var alert = document.querySelector(".alert[role=alert]");
    if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
  });
})();

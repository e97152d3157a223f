// Live home page: subscribe to new heads over the node's own WebSocket (eth_subscribe),
// then re-fetch the server-rendered "latest blocks" and "latest transactions" sections.
(function () {
  "use strict";
  var script = document.currentScript;
  var prefix = script ? script.getAttribute("data-prefix") : "/explorer";
  var ids = ["latest-blocks", "latest-transactions", "chain"];
  var refreshing = false, again = false;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(prefix + "/fragment/latest", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ids.forEach(function (id) {
          var fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) { old.replaceWith(fresh); fresh.classList.add("fresh"); }
        });
      })
      .catch(function () { /* the next head retries */ })
      .then(function () { refreshing = false; if (again) { again = false; refresh(); } });
  }

  function connect(delay) {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
    var ws = new WebSocket(url);
    ws.onopen = function () {
      delay = 500;
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    };
    ws.onmessage = function (event) {
      var msg = JSON.parse(event.data);
      if (msg.method === "eth_subscription") { refresh(); }
    };
    ws.onclose = function () { setTimeout(function () { connect(Math.min(delay * 2, 10000)); }, delay); };
    ws.onerror = function () { ws.close(); };
  }
  connect(500);
})();

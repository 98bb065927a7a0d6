/* Leadership dashboard: draws the charts from the numbers the page already shows, and
   replaces the figures when the server pushes new ones over the websocket. */
(function () {
  "use strict";
  var charts = [];
  var COLORS = ["#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0b7285", "#c2255c", "#5c940d"];

  function data() {
    var node = document.getElementById("dashboard-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node || typeof echarts === "undefined") return;
    var instance = echarts.init(node, null, { renderer: "svg" });
    // Tooltips drawn inside the chart (richText), not as HTML with inline styles, which the
    // Content-Security-Policy (style-src 'self') refuses.
    if (option.tooltip) option.tooltip = Object.assign({ renderMode: "richText" }, option.tooltip);
    instance.setOption(Object.assign({ color: COLORS, animation: false }, option));
    charts.push(instance);
  }

  function bars(items, unit, max) {
    var names = items.map(function (item) { return item.name; }).reverse();
    var values = items.map(function (item) { return item.value; }).reverse();
    return {
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", max: max, axisLabel: { formatter: "{value}" + unit } },
      yAxis: { type: "category", data: names },
      series: [{ type: "bar", data: values, label: { show: true, position: "right",
        formatter: function (p) { return p.value === null ? "—" : p.value + unit; } } }]
    };
  }

  function draw() {
    charts.forEach(function (instance) { instance.dispose(); });
    charts = [];
    var d = data();
    if (!d) return;
    chart("chart-departments", bars(d.departments, "%", 100));
    chart("chart-channels", {
      tooltip: { trigger: "item", formatter: "{b}：{c} 件（{d}%）" },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], data: d.channels,
        label: { formatter: "{b}\n{c} 件" } }]
    });
    chart("chart-categories", bars(d.categories, "", null));
    var t = d.trend;
    chart("chart-trend", {
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 8, right: 8, top: 24, bottom: 36, containLabel: true },
      xAxis: { type: "category", data: t.months },
      yAxis: [{ type: "value", name: "件" }, { type: "value", name: "%", max: 100 }],
      series: [
        { name: "受理量", type: "bar", data: t.received },
        { name: "回复率", type: "line", yAxisIndex: 1, data: t.reply_rate, connectNulls: false },
        { name: "按时办结率", type: "line", yAxisIndex: 1, data: t.on_time_rate },
        { name: "满意率", type: "line", yAxisIndex: 1, data: t.satisfaction_rate }
      ]
    });
  }

  function connect() {
    var holder = document.getElementById("figures");
    var state = document.getElementById("live-state");
    if (!holder || !window.WebSocket) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + holder.getAttribute("data-ws"));
    socket.onopen = function () { state.dataset.state = "open"; state.textContent = "实时更新中"; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type !== "figures") return;
      holder.innerHTML = message.html;
      draw();
      state.textContent = "已更新 " + new Date().toLocaleTimeString("zh-CN");
      state.classList.add("flash");
      setTimeout(function () { state.classList.remove("flash"); }, 1500);
    };
    socket.onclose = function () {
      state.dataset.state = "closed";
      state.textContent = "实时更新已断开，正在重连…";
      setTimeout(connect, 5000);
    };
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  draw();
  connect();
})();

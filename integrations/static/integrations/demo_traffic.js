// The demo-traffic page: each button asks for a signed sample and sends it to the real endpoint.
document.getElementById("demo").addEventListener("submit", function (event) { event.preventDefault(); });
document.querySelectorAll("#demo button").forEach(function (button) {
  button.addEventListener("click", async function () {
    const channel = button.dataset.channel;
    const text = document.getElementById("text").value;
    const row = document.createElement("tr");
    const cell = (value) => { const td = document.createElement("td"); td.textContent = value; row.appendChild(td); };
    try {
      const sample = await (await fetch("sample/" + channel + "/?text=" + encodeURIComponent(text))).json();
      if (!sample.url) throw new Error(sample.message || "无法生成消息");
      const headers = Object.assign({"Content-Type": sample.content_type}, sample.headers);
      const response = await fetch(sample.url, {method: "POST", headers: headers, body: sample.body, credentials: "omit"});
      cell(new Date().toLocaleTimeString()); cell(button.textContent); cell(response.status); cell(await response.text());
    } catch (error) {
      cell(new Date().toLocaleTimeString()); cell(button.textContent); cell("-"); cell(String(error));
    }
    document.querySelector("#results tbody").prepend(row);
  });
});

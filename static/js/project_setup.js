// The project set-up page: the slug follows the name until it is edited by hand, only the chosen task
// type's settings are shown, and "Add a criterion" adds a rubric row in place. Without script the page
// still works: the slug is made from the name on the server, every type's settings are shown, and the
// button posts the form back with one more row.
(function () {
  "use strict";
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9\s-]/g, "").trim().replace(/[\s-]+/g, "-").slice(0, 80).replace(/-+$/, "");
  }
  const form = document.querySelector("form.project-form");
  if (!form) return;
  const name = form.querySelector("[name=name]");
  const slug = form.querySelector("[name=slug]");
  const shown = document.getElementById("slug-shown");
  if (name && slug && !slug.disabled) {
    let byHand = slug.value !== "" && slug.value !== slugify(name.value);
    const show = function () { if (shown) shown.textContent = slug.value || "…"; };
    name.addEventListener("input", function () {
      if (!byHand) { slug.value = slugify(name.value); show(); }
    });
    slug.addEventListener("input", function () { byHand = slug.value !== ""; show(); });
  }
  const type = form.querySelector("select[name=task_type]");
  const groups = form.querySelectorAll(".type-settings-group");
  function showType() {
    if (!type) return;
    groups.forEach(function (group) {
      const mine = group.dataset.taskType === type.value;
      group.hidden = !mine;
      group.disabled = !mine;
    });
  }
  if (type && groups.length > 1) { type.addEventListener("change", showType); showType(); }
  const add = document.getElementById("rubric-add");
  const rows = document.getElementById("rubric-rows");
  const template = document.getElementById("rubric-empty-row");
  const total = form.querySelector("[name=rubric-TOTAL_FORMS]");
  const max = form.querySelector("[name=rubric-MAX_NUM_FORMS]");
  if (add && rows && template && total) {
    add.addEventListener("click", function (event) {
      event.preventDefault();
      const index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) { add.disabled = true; return; }
      const html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const first = rows.lastElementChild.querySelector("input");
      if (first) first.focus();
    });
  }
})();

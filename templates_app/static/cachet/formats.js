/* How the admin writes money, counts and ratios in the browser: the rules of
   templates_app/admin/formats.py, so a figure reads the same on every page.
   window.CachetFormat.usd(0.005068) -> "$0.005068"; count(3797) -> "3,797"; percent(0.87) -> "87%". */
(function () {
  "use strict";

  const NONE = "—";
  const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

  function usd(value) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return NONE;
    const number = Number(value);
    const text = Math.abs(number).toFixed(6).replace(/0+$/, "");
    const [whole, cents] = text.split(".");
    const negative = number < 0 && /[1-9]/.test(text);
    return `${negative ? "-" : ""}$${grouped.format(Number(whole))}.${(cents || "").padEnd(2, "0")}`;
  }

  function count(value) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return NONE;
    return grouped.format(Math.round(Number(value)));
  }

  function percent(ratio) {
    if (ratio === null || ratio === undefined || Number.isNaN(Number(ratio))) return NONE;
    return `${Math.round(Number(ratio) * 100)}%`;
  }

  window.CachetFormat = { NONE, usd, count, percent };
})();

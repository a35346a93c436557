/* How the admin writes money, counts and ratios in the browser: the rules of
   templates_app/admin/formats.py, so a figure reads the same on every page.
   window.CachetFormat.usd(0.005068) -> "$0.005068"; count(3797) -> "3,797"; percent(0.87) -> "87%".
   Rounding is from the exact value, half away from zero (toFixed and Math.round of a
   magnitude), and grouping goes through BigInt, so no figure loses digits. */
(function () {
  "use strict";

  const NONE = "—";
  const grouped = new Intl.NumberFormat("en-US");

  function finite(value) {
    if (value === null || value === undefined || value === "") return null;
    const number = Number(value);
    return Number.isFinite(number) ? number : null;
  }

  function whole(number) {
    const magnitude = Math.round(Math.abs(number));
    return magnitude === 0 ? 0n : BigInt(Math.sign(number) * magnitude);
  }

  function usd(value) {
    const number = finite(value);
    if (number === null) return NONE;
    const magnitude = Math.abs(number);
    // toFixed writes 1e21 and above in exponent form; such a figure has no decimals anyway.
    const text = magnitude >= 1e21 ? BigInt(magnitude).toString() : magnitude.toFixed(6);
    const [digits, decimals = ""] = text.split(".");
    const cents = decimals.replace(/0+$/, "");
    const negative = number < 0 && /[1-9]/.test(text);
    return `${negative ? "-" : ""}$${grouped.format(BigInt(digits))}.${cents.padEnd(2, "0")}`;
  }

  function count(value) {
    const number = finite(value);
    return number === null ? NONE : grouped.format(whole(number));
  }

  function percent(ratio) {
    const number = finite(ratio);
    const scaled = number === null ? null : finite(number * 100);
    return scaled === null ? NONE : `${whole(scaled)}%`;
  }

  window.CachetFormat = { NONE, usd, count, percent };
})();

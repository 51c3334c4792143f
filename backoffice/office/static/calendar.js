// Firma back office: drag an event to another hour of the week view. Hand-written.
// The move is POSTed (JSON, CSRF header) to /office/events/{id}/move; the server keeps
// the event's length and reminder offset. Without JavaScript, or from the keyboard,
// the event form changes the time.
"use strict";

(() => {
  const grid = document.querySelector(".cal.week");
  if (!grid) return;
  let dragged = null;

  grid.addEventListener("dragstart", (event) => {
    const item = event.target.closest("a.item[data-event-id]");
    if (!item) return;
    dragged = item;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.eventId);
  });
  grid.addEventListener("dragend", () => {
    dragged = null;
    grid.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });
  grid.addEventListener("dragover", (event) => {
    const slot = event.target.closest(".slot");
    if (!slot || !dragged) return;
    event.preventDefault();
    grid.querySelectorAll(".drop-target").forEach((el) => el !== slot && el.classList.remove("drop-target"));
    slot.classList.add("drop-target");
  });
  grid.addEventListener("drop", async (event) => {
    const slot = event.target.closest(".slot");
    if (!slot || !dragged) return;
    event.preventDefault();
    const item = dragged;
    const from = item.parentElement;
    slot.classList.remove("drop-target");
    slot.appendChild(item);  // optimistic; put back if the server refuses
    try {
      const moved = await Office.post(`/office/events/${item.dataset.eventId}/move`, {
        starts_at: slot.dataset.start,
      });
      const hhmm = moved.starts_at.slice(11, 16);
      item.textContent = item.textContent.replace(/^\d\d:\d\d/, hhmm);
      item.title = item.title.replace(/^\d\d:\d\d/, hhmm);
      Office.announce(item.textContent);
    } catch (error) {
      from.appendChild(item);
      Office.announce(error.message);
      window.alert(error.message);
    }
  });
})();

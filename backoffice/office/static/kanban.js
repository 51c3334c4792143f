// The leads board: drag a card to another column to change the lead's state.
// The move is sent to POST /office/leads/{id}/state with the CSRF header (Office.post);
// the card moves at once and goes back if the server refuses. Without JavaScript
// (or from the keyboard) each card's "Move to" form does the same as a plain post.
"use strict";

(() => {
  const board = document.getElementById("kanban");
  if (!board) return;
  let dragged = null;

  const columnOf = (node) => node && node.closest(".kanban-col");
  const countOf = (column) => column.querySelector("[data-count]");

  function adjust(column, delta) {
    const badge = countOf(column);
    if (badge) badge.textContent = String(Math.max(0, Number(badge.textContent || 0) + delta));
  }

  function place(card, column) {
    const list = column.querySelector(".kanban-cards");
    list.insertBefore(card, list.firstChild);
    const select = card.querySelector("select[name=state_id]");
    if (select) select.value = column.dataset.stateId;
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest && event.target.closest(".kanban-card");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.leadId);
  });

  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
    dragged = null;
  });

  board.addEventListener("dragover", (event) => {
    const column = columnOf(event.target);
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  board.addEventListener("dragleave", (event) => {
    const column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  board.addEventListener("drop", async (event) => {
    const column = columnOf(event.target);
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    const from = columnOf(card);
    if (from === column) return;
    place(card, column);
    adjust(from, -1);
    adjust(column, +1);
    card.classList.add("saving");
    try {
      const moved = await Office.post(`/office/leads/${card.dataset.leadId}/state`, {
        state_id: Number(column.dataset.stateId),
      });
      Office.announce(moved.state.name);
    } catch (error) {
      place(card, from);
      adjust(column, -1);
      adjust(from, +1);
      card.classList.add("failed");
      Office.announce(error.message);
      window.alert(error.message);
    } finally {
      card.classList.remove("saving");
    }
  });
})();

"""A turn's place in the user's quota: reserved before the model is asked, settled after.

On `auto`, when the routed model's limit is reached and the operator configured a fallback
model (`quotas.auto_fallback_model`), the fallback answers instead if the user has quota
left for it and it can do what the message needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence

from bot.chat.context import estimate_tokens
from bot.chat.ports import Button, Translate
from bot.chat.turn import Outcome
from bot.payments.quotas import QuotaExceededError, QuotaService, Reservation
from bot.routing.service import RoutingService, TurnPlan, has_capabilities
from bot.storage.uow import UnitOfWork

LimitNotice = Callable[[QuotaExceededError, Translate], tuple[str, Sequence[Button]]]
"""The reply to a reached limit: when it resets, and the plans on offer as buttons."""


class TurnLimits:
    def __init__(
        self,
        quotas: QuotaService,
        routing: RoutingService,
        notice: LimitNotice,
        *,
        fallback_model: str | None = None,
    ) -> None:
        self._quotas = quotas
        self._routing = routing
        self.notice = notice
        self._fallback = fallback_model

    def reserve_in(
        self, uow: UnitOfWork, user_id: int | None, plan: TurnPlan, needs: frozenset[str]
    ) -> tuple[TurnPlan, Reservation | None]:
        """In the transaction that stores the question: the plan (perhaps on the fallback
        model) and its reservation; raises QuotaExceededError for the routed model when
        nothing may answer (the transaction then stores nothing)."""
        if user_id is None or not self._quotas.enabled:
            return plan, None
        try:
            return plan, self._quotas.reserve_in(uow, user_id, plan.model.spec.id)
        except QuotaExceededError as exc:
            fallback = self._fallback_for(plan, needs)
            if fallback is None:
                raise
            try:
                return fallback, self._quotas.reserve_in(uow, user_id, fallback.model.spec.id)
            except QuotaExceededError:
                raise exc from None  # say what was asked for: the routed model's limit

    def _fallback_for(self, plan: TurnPlan, needs: frozenset[str]) -> TurnPlan | None:
        if not plan.auto or self._fallback is None or self._fallback == plan.model.spec.id:
            return None
        model = self._routing.model(self._fallback)
        if model is None or not has_capabilities(model.spec, needs):
            return None
        return dataclasses.replace(plan, model=model)

    @contextlib.asynccontextmanager
    async def charge(self, user_id: int | None, action: str) -> AsyncIterator[None]:
        """Count one costly action (an image) while the block runs; raises
        QuotaExceededError when the plan allows no more; released when the block fails."""
        reservation = None
        if user_id is not None and self._quotas.enabled:
            reservation = await self._quotas.reserve_action(user_id, action)
        try:
            yield
        except BaseException:
            await self._quotas.give_back(reservation)
            raise
        if reservation is not None:
            await self._quotas.settle(reservation, 0, counted=True)

    def settle(self, uow: UnitOfWork, reservation: Reservation | None, outcome: Outcome) -> None:
        """Count the answer with its reported tokens, in the answer's own transaction; an
        answer that delivered nothing (the model failed, the request could not be assembled)
        does not count."""
        if reservation is None:
            return
        usage = outcome.usage
        # Without a report (the user pressed Stop before the provider sent it), the answer's
        # own length still counts.
        tokens = (
            usage.input_tokens + usage.output_tokens if usage else estimate_tokens(outcome.text)
        )
        self._quotas.settle_in(uow, reservation, tokens, counted=bool(outcome.text))

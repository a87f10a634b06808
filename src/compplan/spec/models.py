"""The plan language: pydantic v2 models of a compensation plan.

Field meanings are defined in docs/semantics.md. Amounts are kept as exact :class:`~decimal.Decimal`
values here (points, currency units, fractions); the compiler turns them into scaled integers.
This module never imports numpy or numba, so ``compplan validate`` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from compplan.money import CURRENCY_MINOR_UNITS, RATE_SCALE, parse_decimal, parse_rate

#: Upper bound of a plan threshold in volume units and of a cash award in minor units (docs/semantics.md 1).
MAX_PLAN_UNITS = 10**12
#: Names a bonus id may not take: member-table and state columns, and the engine's own value names.
RESERVED_COLUMNS = frozenset(
    {
        "id",
        "pv",
        "cv",
        "gv",
        "qv",
        "active",
        "rank",
        "highest_rank",
        "total",
        "balance_in",
        "paid",
        "balance_out",
        "streak",
        "balance",
        "prior_highest",
        "prior_streak",
        "orders",
        "events",
        "volumes",
        "company_cap",
        "balances",
        "leg_left",
        "leg_right",
        "carry_left",
        "carry_right",
        "idle",
        "prior_carry_left",
        "prior_carry_right",
        "prior_idle",
        "placement",
        "next_rank_total",
    }
)
MAX_LEVELS = 64


def _rate(value: object) -> Decimal:
    return Decimal(parse_rate(value)) / RATE_SCALE


def _amount(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"expected a decimal number such as 100 or 12.50, got {value!r}")
    number = parse_decimal(value)
    if number < 0:
        raise ValueError(f"must be >= 0, got {value}")
    return number


def _text(value: object) -> object:
    # Plan versions like 2026.1 arrive as text already (the loader keeps decimals as text); accept ints too.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


_NUMBER_SCHEMA = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?$"}]}
_RATE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "string", "pattern": r"^\d+(\.\d+)?%?$"},
    ],
    "description": "A rate: 5%, '0.05' or 0.05 (at most 6 decimal places as a fraction, 0..100%).",
}

#: An exact rate in [0, 1] with at most 6 decimal places.
Rate = Annotated[Decimal, BeforeValidator(_rate), WithJsonSchema(_RATE_SCHEMA)]
#: A non-negative volume in points (decimal places checked against ``plan.volume_decimals``).
Volume = Annotated[Decimal, BeforeValidator(_amount), WithJsonSchema({**_NUMBER_SCHEMA, "description": "Points."})]
#: A non-negative amount of money in currency units (decimal places checked against the minor units).
Money = Annotated[Decimal, BeforeValidator(_amount), WithJsonSchema({**_NUMBER_SCHEMA, "description": "Money."})]
BonusId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
RankName = Annotated[str, Field(min_length=1, max_length=64)]
VolumeKind = Literal["cv", "pv"]


class StrictModel(BaseModel):
    """Base of every plan model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PlanMeta(StrictModel):
    """Identity, currency and number formats of the plan (section ``plan:``)."""

    name: Annotated[str, Field(min_length=1)]
    version: Annotated[str, BeforeValidator(_text)] = "1"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD.")]
    minor_units: Annotated[int | None, Field(ge=0, le=3)] = None
    rounding: Literal["half_up", "half_even", "down"] = "half_up"
    volume_decimals: Annotated[int, Field(ge=0, le=3)] = 2


class Activity(StrictModel):
    """Who is active this period: ``pv >= min_pv`` and ``cv >= min_cv``."""

    min_pv: Volume
    min_cv: Volume = Decimal(0)


class LegRule(StrictModel):
    """At least ``count`` frontline legs each containing a member of paid-as rank >= ``rank``."""

    rank: RankName
    count: Annotated[int, Field(ge=1, le=1_000_000)]


class Rank(StrictModel):
    """One step of the rank ladder and its requirements (all must hold)."""

    name: RankName
    active: StrictBool | None = Field(default=None, description="Must be active; default true except the entry rank.")
    min_pv: Volume | None = None
    min_gv: Volume | None = None
    min_qv: Volume | None = None
    max_leg_share: Rate | None = Field(default=None, description="Max share of min_qv one leg may supply.")
    min_personal_actives: Annotated[int | None, Field(ge=0, le=1_000_000)] = None
    legs: list[LegRule] = Field(default_factory=list)

    @property
    def has_requirements(self) -> bool:
        """Whether the rank sets any requirement (the entry rank must not)."""
        return bool(
            self.active
            or self.legs
            or any(v is not None for v in (self.min_pv, self.min_gv, self.min_qv, self.max_leg_share))
            or self.min_personal_actives is not None
        )


class _Bonus(StrictModel):
    id: BonusId
    description: str = ""
    cap_per_member: Money | None = Field(default=None, description="Most one member earns from it per period.")


class _QualifiedBonus(_Bonus):
    min_rank: RankName | None = Field(default=None, description="Lowest paid-as rank that earns; default entry.")
    require_active: StrictBool = True


class _LevelRates(_QualifiedBonus):
    """Rates by level (or generation) with per-rank depth: ``rates`` + ``paid_levels``, or ``rates_by_rank``."""

    rates: Annotated[list[Rate], Field(min_length=1, max_length=MAX_LEVELS)] | None = None
    rates_by_rank: dict[RankName, Annotated[list[Rate], Field(max_length=MAX_LEVELS)]] | None = None

    @property
    def paid(self) -> dict[str, int] | None:
        """Levels (or generations) paid per rank, with ``rates``."""
        return None

    @model_validator(mode="after")
    def _one_rate_table(self) -> _LevelRates:
        if (self.rates is None) == (self.rates_by_rank is None):
            raise ValueError("give exactly one of 'rates' or 'rates_by_rank'")
        if self.paid is not None and self.rates is None:
            raise ValueError("the levels paid per rank go with 'rates'; with 'rates_by_rank' list the rates per rank")
        return self


PaidDepth = dict[RankName, Annotated[int, Field(ge=0, le=MAX_LEVELS)]] | None


class _ByLevel(_LevelRates):
    """Rates by tree level of each downline member's own volume (unilevel and matrix share these fields)."""

    basis: VolumeKind = "cv"
    compression: Literal["none", "dynamic"] = "none"
    paid_levels: PaidDepth = None

    @property
    def paid(self) -> dict[str, int] | None:
        return self.paid_levels


class Unilevel(_ByLevel):
    """Percentage per sponsor-tree level of each downline member's own volume."""

    type: Literal["unilevel"]


class FastStart(_QualifiedBonus):
    """Percentage per enroller generation on a new member's orders in its first ``days`` days."""

    type: Literal["fast_start"]
    basis: VolumeKind = "cv"
    days: Annotated[int, Field(ge=1, le=3660)]
    rates: Annotated[list[Rate], Field(min_length=1, max_length=MAX_LEVELS)]


class Tier(StrictModel):
    """A tier of a tiered percentage: ``rate`` applies from ``min_volume`` up."""

    min_volume: Volume
    rate: Rate


class PersonalTier(_QualifiedBonus):
    """A percentage of the member's own basis that rises with its PV (or GV) tier."""

    type: Literal["personal_tier"]
    basis: VolumeKind = "cv"
    tier_volume: Literal["pv", "gv"] = "pv"
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=MAX_LEVELS)]


class AdvancementAward(StrictModel):
    """What reaching a rank for the first time pays: cash and/or a named non-cash award."""

    cash: Money = Decimal(0)
    award: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _something(self) -> AdvancementAward:
        if self.cash == 0 and self.award is None:
            raise ValueError("give 'cash', 'award' or both")
        return self


class RankAdvancement(_Bonus):
    """One-time awards the first time a member's highest rank reaches a rank."""

    type: Literal["rank_advancement"]
    awards: Annotated[dict[RankName, AdvancementAward], Field(min_length=1)]
    pay_skipped: StrictBool = True


class Generation(_LevelRates):
    """Leadership bonus: a percentage per generation, a generation ending at each leader of ``generation_rank``."""

    type: Literal["generation"]
    basis: VolumeKind = "cv"
    generation_rank: RankName
    compression: Literal["none", "dynamic"] = "none"
    paid_generations: PaidDepth = None

    @property
    def paid(self) -> dict[str, int] | None:  # noqa: D102
        return self.paid_generations


class Differential(_QualifiedBonus):
    """Breakaway / stairstep: each upline earns its rank's rate minus what was already taken below it."""

    type: Literal["differential"]
    basis: VolumeKind = "cv"
    rates: Annotated[dict[RankName, Rate], Field(min_length=1)]
    include_self: StrictBool = True


class Matching(_LevelRates):
    """Check match: a percentage of matched bonuses earned by the sponsored line, by sponsor generation."""

    type: Literal["matching"]
    matches: Annotated[list[BonusId], Field(min_length=1)]
    compression: Literal["none", "dynamic"] = "none"
    paid_generations: PaidDepth = None

    @property
    def paid(self) -> dict[str, int] | None:  # noqa: D102
        return self.paid_generations


class LoyaltyTier(StrictModel):
    """From ``min_periods`` on: ``rate`` of own basis and/or fixed ``cash``."""

    min_periods: Annotated[int, Field(ge=1, le=10_000)]
    rate: Rate | None = None
    cash: Money | None = None

    @model_validator(mode="after")
    def _something(self) -> LoyaltyTier:
        if self.rate is None and self.cash is None:
            raise ValueError("give 'rate', 'cash' or both")
        return self


class Loyalty(_QualifiedBonus):
    """Rewards for consecutive active periods or for tenure."""

    type: Literal["loyalty"]
    basis: VolumeKind = "cv"
    measure: Literal["active_streak", "tenure_months"] = "active_streak"
    tiers: Annotated[list[LoyaltyTier], Field(min_length=1, max_length=MAX_LEVELS)]


class Pool(_QualifiedBonus):
    """``share`` of company CV split exactly among qualifiers by shares per rank."""

    type: Literal["pool"]
    share: Rate
    shares_by_rank: Annotated[dict[RankName, Annotated[int, Field(ge=0, le=1_000_000)]], Field(min_length=1)]


class Goal(StrictModel):
    """A team target and what reaching it pays."""

    measure: Literal["gv", "new_actives", "personal_new_actives"]
    target: Volume
    cash: Money = Decimal(0)
    award: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _something(self) -> Goal:
        if self.cash == 0 and self.award is None:
            raise ValueError("give 'cash', 'award' or both")
        return self


class TeamGoal(_QualifiedBonus):
    """Fixed awards for team targets reached this period."""

    type: Literal["team_goal"]
    goals: Annotated[list[Goal], Field(min_length=1, max_length=MAX_LEVELS)]


class EventAward(StrictModel):
    """What one event of ``event`` kind pays, and to whom."""

    event: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    payee: Literal["member", "sponsor"] = "member"
    cash: Money = Decimal(0)
    award: Annotated[str, Field(min_length=1)] | None = None
    max_per_period: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _something(self) -> EventAward:
        if self.cash == 0 and self.award is None:
            raise ValueError("give 'cash', 'award' or both")
        return self


class Action(_QualifiedBonus):
    """Fixed awards for events (the events input, and the built-in ``enrolment``)."""

    type: Literal["action"]
    events: Annotated[list[EventAward], Field(min_length=1)]


class Binary(_QualifiedBonus):
    """Binary: a percentage of the weaker placement leg, or cash per pair of leg volume, with carryover."""

    type: Literal["binary"]
    volume: VolumeKind = Field(default="cv", description="Leg volume kind.")
    rate: Rate | None = Field(default=None, description="Percentage mode: this rate of the weaker leg.")
    pair_volume: Volume | None = Field(default=None, description="Pair mode: volume per pair on each side.")
    pair_cash: Money | None = Field(default=None, description="Pair mode: money per pair.")
    first_pair_volume: Volume | None = Field(default=None, description="Stronger-side volume of the first pair.")
    max_pairs: Annotated[int, Field(ge=1, le=10**9)] | None = Field(default=None, description="Pairs paid per period.")
    min_sponsored_per_side: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=0, description="Active personally sponsored members needed in each leg."
    )
    max_carry: Volume | None = Field(default=None, description="Most volume carried per leg.")
    flush_after_inactive: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="All carry is forfeited after this many consecutive inactive periods."
    )

    @model_validator(mode="after")
    def _one_mode(self) -> Binary:
        pairs = self.pair_volume is not None or self.pair_cash is not None
        if (self.rate is None) == (not pairs):
            raise ValueError("give either 'rate' (a percentage of the weaker leg) or 'pair_volume' and 'pair_cash'")
        if pairs and (self.pair_volume is None or self.pair_cash is None):
            raise ValueError("pair mode needs both 'pair_volume' and 'pair_cash'")
        if not pairs and (self.first_pair_volume is not None or self.max_pairs is not None):
            raise ValueError("'first_pair_volume' and 'max_pairs' go with pair mode ('pair_volume', 'pair_cash')")
        if self.pair_volume is not None and self.pair_volume == 0:
            raise ValueError("'pair_volume' must be > 0")
        if (
            self.first_pair_volume is not None
            and self.pair_volume is not None
            and self.first_pair_volume < self.pair_volume
        ):
            raise ValueError("'first_pair_volume' must be at least 'pair_volume'")
        return self


class MatrixBonus(_ByLevel):
    """Forced matrix: a percentage per placement-tree level of each downline member's own volume."""

    type: Literal["matrix"]


class PlacementTree(StrictModel):
    """The placement tree of binary and matrix bonuses (docs/semantics.md 2, "Placement")."""

    tree: Literal["binary", "matrix"]
    width: Annotated[int, Field(ge=2, le=64)] | None = Field(default=None, description="Matrix width W.")
    within_sponsor: StrictBool = Field(default=True, description="Members must sit below their sponsor.")
    auto: Literal["left", "right", "weaker_leg", "breadth_first"] | None = Field(
        default=None, description="compplan place: binary left/right/weaker_leg, matrix breadth_first."
    )

    @model_validator(mode="after")
    def _fits_tree(self) -> PlacementTree:
        if self.tree == "matrix" and self.width is None:
            raise ValueError("a matrix needs 'width' (positions per member, 2..64)")
        if self.tree == "binary" and self.width not in (None, 2):
            raise ValueError("a binary tree has width 2; leave 'width' out")
        if self.tree == "binary" and self.auto == "breadth_first":
            raise ValueError("binary placement is 'left', 'right' or 'weaker_leg'")
        if self.tree == "matrix" and self.auto not in (None, "breadth_first"):
            raise ValueError("matrix placement is 'breadth_first'")
        return self

    @property
    def slots(self) -> int:
        """Children per member: 2 for binary, ``width`` for a matrix."""
        return 2 if self.tree == "binary" else int(self.width or 2)

    @property
    def method(self) -> str:
        """The auto-placement method, defaults applied."""
        return self.auto or ("weaker_leg" if self.tree == "binary" else "breadth_first")


class PayoutCap(StrictModel):
    """Total cash payout at most ``max_share`` of company CV; ``scalable`` bonuses are scaled down to fit."""

    max_share: Rate
    scalable: Annotated[list[BonusId], Field(min_length=1)]


class Segment(StrictModel):
    """A named group of members for reports; a member is in it when every rule given holds (3.9)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = ""
    active: StrictBool | None = None
    min_pv: Volume | None = None
    max_pv: Volume | None = None
    min_gv: Volume | None = None
    max_gv: Volume | None = None
    min_rank: RankName | None = None
    max_rank: RankName | None = None
    min_frontline: Annotated[int, Field(ge=0)] | None = None
    max_frontline: Annotated[int, Field(ge=0)] | None = None
    min_tenure_months: Annotated[int, Field(ge=0)] | None = None
    max_tenure_months: Annotated[int, Field(ge=0)] | None = None


class Payout(StrictModel):
    """Payout rules after the bonuses: the smallest amount paid out (smaller payables are carried)."""

    minimum: Money = Decimal(0)


Bonus = Annotated[
    Unilevel
    | FastStart
    | PersonalTier
    | RankAdvancement
    | Generation
    | Differential
    | Matching
    | Loyalty
    | Pool
    | TeamGoal
    | Action
    | Binary
    | MatrixBonus,
    Field(discriminator="type"),
]
BONUS_TYPES: dict[str, type[_Bonus]] = {
    "unilevel": Unilevel,
    "fast_start": FastStart,
    "personal_tier": PersonalTier,
    "rank_advancement": RankAdvancement,
    "generation": Generation,
    "differential": Differential,
    "matching": Matching,
    "loyalty": Loyalty,
    "pool": Pool,
    "team_goal": TeamGoal,
    "action": Action,
    "binary": Binary,
    "matrix": MatrixBonus,
}


class Plan(StrictModel):
    """A complete compensation plan. Build it with :func:`compplan.load_plan` or :func:`compplan.parse_plan`."""

    model_config = ConfigDict(title="compplan plan")

    plan: PlanMeta
    activity: Activity
    ranks: Annotated[list[Rank], Field(min_length=1, max_length=255)]
    bonuses: list[Bonus] = Field(default_factory=list)
    placement: PlacementTree | None = None
    payout_cap: PayoutCap | None = None
    payout: Payout = Field(default_factory=Payout)
    segments: list[Segment] = Field(default_factory=list)

    @field_validator("bonuses", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> Plan:
        # The loader runs these checks itself to attach file positions; direct construction gets them here.
        if not (info.context or {}).get("skip_cross_checks"):
            problems = list(cross_check(self))
            if problems:
                raise ValueError("; ".join(f"{'.'.join(map(str, path))}: {msg}" for path, _, msg in problems))
        return self

    # -- derived facts, used by the compiler, the reference and the reports --
    @property
    def minor_units(self) -> int:
        """Decimal places of the currency's minor unit."""
        if self.plan.minor_units is not None:
            return self.plan.minor_units
        return CURRENCY_MINOR_UNITS[self.plan.currency]

    @property
    def rank_names(self) -> list[str]:
        """Rank names from the entry rank up."""
        return [r.name for r in self.ranks]

    def rank_index(self, name: str) -> int:
        """Position of the rank called ``name`` in the ladder."""
        return self.rank_names.index(name)

    def bonus_ids(self) -> list[str]:
        """Bonus ids in plan order (the member table's bonus columns)."""
        return [b.id for b in self.bonuses]

    @property
    def binary(self) -> Binary | None:
        """The plan's binary bonus (at most one), if any."""
        return next((b for b in self.bonuses if isinstance(b, Binary)), None)


Path = tuple[str | int, ...]


def cross_check(plan: Plan) -> Iterator[tuple[Path, str, str]]:
    """Yield ``(path, code, message)`` for every rule pydantic's field checks cannot see.

    Cross references (a rank named in a rule exists), uniqueness, decimal places against the plan's own
    precision, and bounds. The loader turns each path into a file position.
    """
    names = [r.name for r in plan.ranks]
    known = set(names)
    hint = ", ".join(names)
    vdec, mdec = plan.plan.volume_decimals, None
    if plan.plan.minor_units is None and plan.plan.currency not in CURRENCY_MINOR_UNITS:
        yield (
            ("plan", "currency"),
            "unknown_currency",
            f"currency {plan.plan.currency} is not in compplan's table; set plan.minor_units explicitly",
        )
    else:
        mdec = plan.minor_units

    def volume(path: Path, value: Decimal | None) -> Iterator[tuple[Path, str, str]]:
        if value is None:
            return
        scaled = value.scaleb(vdec)
        if scaled != scaled.to_integral_value():
            yield path, "too_precise", f"{value} has more than volume_decimals={vdec} decimal places"
        elif scaled > MAX_PLAN_UNITS:
            bound = Decimal(MAX_PLAN_UNITS).scaleb(-vdec)
            yield path, "out_of_range", f"{value} is above the bound of {bound} (10^12 volume units)"

    def money(path: Path, value: Decimal | None) -> Iterator[tuple[Path, str, str]]:
        if value is None or mdec is None:
            return
        scaled = value.scaleb(mdec)
        if scaled != scaled.to_integral_value():
            yield path, "too_precise", f"{value} has more than {mdec} decimal places for {plan.plan.currency}"
        elif scaled > MAX_PLAN_UNITS:
            bound = Decimal(MAX_PLAN_UNITS).scaleb(-mdec)
            unit = plan.plan.currency
            yield path, "out_of_range", f"{value} is above the bound of {bound} {unit} (10^12 minor units)"

    def rank_ref(path: Path, name: str | None) -> Iterator[tuple[Path, str, str]]:
        if name is not None and name not in known:
            yield path, "unknown_rank", f"unknown rank {name!r}; the plan's ranks are: {hint}"

    seen: dict[str, int] = {}
    for i, r in enumerate(plan.ranks):
        if r.name in seen:
            yield ("ranks", i, "name"), "duplicate_rank", f"rank {r.name!r} is already defined at ranks[{seen[r.name]}]"
        seen.setdefault(r.name, i)
        if i == 0 and r.has_requirements:
            yield (
                ("ranks", 0),
                "entry_rank_requirements",
                f"the first rank ({r.name!r}) is the entry rank every member holds and cannot have "
                "requirements; add a lower entry rank or move them up",
            )
        if r.max_leg_share is not None and r.min_qv is None:
            yield ("ranks", i, "max_leg_share"), "leg_share_without_qv", "max_leg_share needs min_qv on the same rank"
        for field in ("min_pv", "min_gv", "min_qv"):
            yield from volume(("ranks", i, field), getattr(r, field))
        for j, leg in enumerate(r.legs):
            yield from rank_ref(("ranks", i, "legs", j, "rank"), leg.rank)
    yield from volume(("activity", "min_pv"), plan.activity.min_pv)
    yield from volume(("activity", "min_cv"), plan.activity.min_cv)

    ids: dict[str, int] = {}
    for b, bonus in enumerate(plan.bonuses):
        where: Path = ("bonuses", b)
        if bonus.id in RESERVED_COLUMNS:
            yield (
                (*where, "id"),
                "reserved_id",
                f"bonus id {bonus.id!r} is reserved (a member-table column or engine value name); pick another",
            )
        if bonus.id in ids:
            yield (
                (*where, "id"),
                "duplicate_bonus",
                f"bonus id {bonus.id!r} is already used by bonuses[{ids[bonus.id]}]",
            )
        ids.setdefault(bonus.id, b)
        if isinstance(bonus, _QualifiedBonus):
            yield from rank_ref((*where, "min_rank"), bonus.min_rank)
        yield from money((*where, "cap_per_member"), bonus.cap_per_member)
        if isinstance(bonus, _LevelRates):
            depth_name = "levels" if isinstance(bonus, (Unilevel, MatrixBonus)) else "generations"
            for name, n in (bonus.paid or {}).items():
                yield from rank_ref((*where, f"paid_{depth_name}", name), name)
                if bonus.rates is not None and n > len(bonus.rates):
                    yield (
                        (*where, f"paid_{depth_name}", name),
                        "too_many_levels",
                        f"{name} is paid {n} {depth_name} but 'rates' has only {len(bonus.rates)}",
                    )
            for name in bonus.rates_by_rank or {}:
                yield from rank_ref((*where, "rates_by_rank", name), name)
        if isinstance(bonus, Generation):
            yield from rank_ref((*where, "generation_rank"), bonus.generation_rank)
        elif isinstance(bonus, Differential):
            for name in bonus.rates:
                yield from rank_ref((*where, "rates", name), name)
        elif isinstance(bonus, PersonalTier):
            for t, tier in enumerate(bonus.tiers):
                yield from volume((*where, "tiers", t, "min_volume"), tier.min_volume)
                if t and tier.min_volume <= bonus.tiers[t - 1].min_volume:
                    yield (
                        (*where, "tiers", t, "min_volume"),
                        "tiers_not_increasing",
                        "tiers must have strictly increasing min_volume",
                    )
        elif isinstance(bonus, Loyalty):
            for t, ltier in enumerate(bonus.tiers):
                yield from money((*where, "tiers", t, "cash"), ltier.cash)
                if t and ltier.min_periods <= bonus.tiers[t - 1].min_periods:
                    yield (
                        (*where, "tiers", t, "min_periods"),
                        "tiers_not_increasing",
                        "tiers must have strictly increasing min_periods",
                    )
        elif isinstance(bonus, Pool):
            for name in bonus.shares_by_rank:
                yield from rank_ref((*where, "shares_by_rank", name), name)
        elif isinstance(bonus, TeamGoal):
            for g, goal in enumerate(bonus.goals):
                yield from money((*where, "goals", g, "cash"), goal.cash)
                if goal.measure == "gv":
                    yield from volume((*where, "goals", g, "target"), goal.target)
                elif goal.target != goal.target.to_integral_value():
                    yield (
                        (*where, "goals", g, "target"),
                        "not_integer",
                        f"a count target must be whole, got {goal.target}",
                    )
        elif isinstance(bonus, Action):
            kinds: dict[str, int] = {}
            for e, ev in enumerate(bonus.events):
                yield from money((*where, "events", e, "cash"), ev.cash)
                if ev.event in kinds:
                    yield (
                        (*where, "events", e, "event"),
                        "duplicate_event",
                        f"event {ev.event!r} is already listed at events[{kinds[ev.event]}]",
                    )
                kinds.setdefault(ev.event, e)
        elif isinstance(bonus, Binary):
            for field in ("pair_volume", "first_pair_volume", "max_carry"):
                yield from volume((*where, field), getattr(bonus, field))
            yield from money((*where, "pair_cash"), bonus.pair_cash)
            tree = plan.placement.tree if plan.placement is not None else None
            if tree != "binary":
                yield (
                    (*where, "type"),
                    "needs_placement",
                    "a binary bonus needs a binary placement tree: add 'placement: {tree: binary}' to the plan"
                    if tree is None
                    else "a binary bonus needs 'placement: {tree: binary}', not a matrix",
                )
            first = next(j for j, x in enumerate(plan.bonuses) if isinstance(x, Binary))
            if first != b:
                yield (
                    (*where, "type"),
                    "second_binary",
                    f"a plan has at most one binary bonus (the carry belongs to the member); bonuses[{first}] is one",
                )
        elif isinstance(bonus, MatrixBonus):
            tree = plan.placement.tree if plan.placement is not None else None
            if tree != "matrix":
                yield (
                    (*where, "type"),
                    "needs_placement",
                    "a matrix bonus needs 'placement: {tree: matrix, width: W}' in the plan",
                )
        elif isinstance(bonus, RankAdvancement):
            for name, award in bonus.awards.items():
                yield from rank_ref((*where, "awards", name), name)
                if name == names[0]:
                    yield (
                        (*where, "awards", name),
                        "entry_rank_award",
                        "every member holds the entry rank; it cannot be advanced to",
                    )
                yield from money((*where, "awards", name, "cash"), award.cash)
    known_ids = set(ids)
    for b, bonus in enumerate(plan.bonuses):
        if isinstance(bonus, Matching):
            for j, target in enumerate(bonus.matches):
                if target in bonus.matches[:j]:
                    yield ("bonuses", b, "matches", j), "listed_twice", f"{target!r} is listed twice"
                if target not in known_ids:
                    yield (
                        ("bonuses", b, "matches", j),
                        "unknown_bonus",
                        f"unknown bonus {target!r}; the plan's bonuses are: {', '.join(ids)}",
                    )
                elif target == bonus.id:
                    yield ("bonuses", b, "matches", j), "matching_cycle", f"bonus {bonus.id!r} cannot match itself"
    if all(m in known_ids for b in plan.bonuses if isinstance(b, Matching) for m in b.matches):
        cycle = _matching_cycle(plan)
        if cycle and len(cycle) > 2:
            b = plan.bonus_ids().index(cycle[0])
            yield (("bonuses", b, "matches"), "matching_cycle", "matching bonuses form a cycle: " + " -> ".join(cycle))
    if plan.payout_cap is not None:
        for j, target in enumerate(plan.payout_cap.scalable):
            if target in plan.payout_cap.scalable[:j]:
                yield ("payout_cap", "scalable", j), "listed_twice", f"{target!r} is listed twice"
            if target not in known_ids:
                yield (
                    ("payout_cap", "scalable", j),
                    "unknown_bonus",
                    f"unknown bonus {target!r}; the plan's bonuses are: {', '.join(ids)}",
                )
    yield from money(("payout", "minimum"), plan.payout.minimum)
    seen_segments: set[str] = set()
    for g, seg in enumerate(plan.segments):
        if seg.name in seen_segments:
            yield ("segments", g, "name"), "duplicate_segment", f"segment {seg.name!r} is already defined"
        seen_segments.add(seg.name)
        yield from rank_ref(("segments", g, "min_rank"), seg.min_rank)
        yield from rank_ref(("segments", g, "max_rank"), seg.max_rank)
        for field in ("min_pv", "max_pv", "min_gv", "max_gv"):
            yield from volume(("segments", g, field), getattr(seg, field))


def _matching_cycle(plan: Plan) -> list[str] | None:
    """A cycle among matching bonuses, as ids ``[a, b, ..., a]``, or None."""
    edges = {b.id: list(b.matches) for b in plan.bonuses if isinstance(b, Matching)}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if state.get(nxt) is None:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in edges:
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def run_order(plan: Plan) -> list[int]:
    """Bonus positions in run order: plan order, except that a matching bonus runs after what it matches."""
    position = {b.id: i for i, b in enumerate(plan.bonuses)}
    done: list[int] = []
    placed: set[int] = set()

    def place(i: int) -> None:
        if i in placed:
            return
        placed.add(i)
        bonus = plan.bonuses[i]
        if isinstance(bonus, Matching):
            for target in bonus.matches:
                if target in position and position[target] != i:
                    place(position[target])
        done.append(i)

    for i in range(len(plan.bonuses)):
        place(i)
    return done

"""The fixed wording of the reports: a stable key per sentence, its English msgid, the catalog.

Templates ask for a sentence by key (``say("summary_title")``) because the plain-data context
names its notes and reasons by key too (``note_<reason>``). The words themselves live in the
gettext catalog (``app/translations``, :mod:`app.catalog`): the English here is only the msgid,
marked with ``N_`` for extraction; :func:`strings_for` gives the sentences in a language.
Numbers are filled in with ``str.format`` after translation, so ``{name}`` placeholders must be
kept in every translation. New sentences: add ``"key": N_("English")`` here, then
``make translations``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from app import catalog
from app.catalog import N_

Strings = Mapping[str, str | tuple[str, ...]]

_EN: dict[str, str | tuple[str, ...]] = {
    "survey_name": N_("Team Safety Culture Survey"),
    "author": N_("{jurisdiction} · Team Safety Culture Survey"),
    "report_title_team": N_("{unit}: team safety culture report {year}"),
    "report_title_unit": N_("{unit}: safety culture report {year}"),
    "team_report": N_("Team report"),
    "unit_report_agency": N_("Agency report"),
    "unit_report_region": N_("Region report"),
    "unit_report_office": N_("Office report"),
    "wave": N_("Survey {year}"),
    "part_of": N_("Part of"),
    "jurisdiction": N_("Jurisdiction"),
    "responses": N_("Responses"),
    "responses_of": N_("{responses} of {invited} invited"),
    "response_rate": N_("Response rate"),
    "generated": N_("Produced on {date}"),
    "language_note": N_("Reports can be downloaded in each language the survey is offered in."),
    "confidentiality_title": N_("Confidentiality"),
    "confidentiality": (
        N_(
            "Answers are anonymous. Nobody, including supervisors and administrators, can see who "
            "answered what. Results are shown only for groups of at least {min_n} people, and "
            "smaller groups are folded into the unit above them so that they cannot be worked "
            "out by subtraction; some units of {min_n} or more are hidden too, for the same "
            "reason. Please do not try to guess who gave which answer, and do not share this "
            "report outside the people it was written for."
        )
    ),
    "straightlining": (
        N_(
            "{count} response(s) giving the same answer to every question were left out of "
            "the results."
        )
    ),
    "blank_responses": (
        N_(
            "{blank} response(s) were sent with no answer and {comment_only} with only a comment: "
            "they are not in the figures."
        )
    ),
    "how_to_read_title": N_("How to read this report"),
    "how_to_read": (
        N_(
            "For each question, answers are grouped as negative, neutral or positive. For "
            "questions worded the other way round, the percentage shown is the share who "
            "disagree — the safe answer. A scale's percentage is the average of the percentages "
            "of its questions shown here, with the range where the true value most likely lies "
            "(95% interval); with few people that range is wide. The score is the average answer "
            "on a 0–100 scale, with its 95% interval. A percentile of 70th means the result is "
            "better than that of 70% of the units in the comparison group."
        )
    ),
    "lower_is_better_note": (
        N_(
            "Some scales measure something where agreeing is bad, such as emotional exhaustion. "
            "They are labelled for what they count, and a lower number is better there: colours, "
            "arrows, percentiles, strengths and opportunities all take that into account."
        )
    ),
    "summary_title": N_("Summary"),
    "summary_intro": N_(
        "{unit}, {year}: every scale at a glance. Percentages are averages across "
        "the scale's items."
    ),
    "col_scale": N_("Scale"),
    "col_distribution": N_("Negative / neutral / positive"),
    "col_headline": N_("Headline (95% interval)"),
    "col_score": N_("Score (95% interval)"),
    "col_change": N_("Change since {year}"),
    "col_change_none": N_("Change"),
    "col_pct_jurisdiction": N_("Percentile, juris\u00addiction"),
    "col_pct_national": N_("Percentile, nation"),
    "lower_is_better": N_("lower is better"),
    "suppressed_too_few": N_("Fewer than {min_n} answers: not shown"),
    "suppressed_protects_smaller": N_("Hidden so that a smaller group cannot be worked out"),
    "no_trend": N_("no earlier result"),
    "trend_interval": N_("95% interval {interval}"),
    "trend_no_interval": N_("no interval possible"),
    "trend_clear_better": N_("clear improvement"),
    "trend_clear_worse": N_("clear decline"),
    "trend_no_clear_change": N_("no clear change"),
    "arrow_better": "▲",
    "arrow_worse": "▼",
    "arrow_flat": "▶",
    "change_explained": (
        N_(
            "Change: the difference from last year in percentage points, with its 95% interval. "
            "It is called a clear change only when it is at least 5 points and its interval, "
            "widened for looking at every scale at once (Holm), leaves out zero; otherwise the "
            "report says “no clear change”: with few people, differences of this size happen by "
            "chance."
        )
    ),
    "benchmarks_title": N_("Benchmarks"),
    "benchmarks_intro": (
        N_(
            "How teams' percentages are spread in each comparison group: 10% of teams are below "
            "p10, half are below the median, 90% are below p90. Every team counts equally."
        )
    ),
    "col_group": N_("Group"),
    "col_p10": "p10",
    "col_p25": "p25",
    "col_median": N_("median"),
    "col_p75": "p75",
    "col_p90": "p90",
    "col_teams": N_("Teams"),
    "col_jurisdictions": N_("Juris\u00addictions"),
    "group_jurisdiction": N_("Jurisdiction"),
    "group_national": N_("Nation"),
    "benchmarks_unavailable": N_("{group}: {reason}"),
    "national_sources": N_(
        "Nation: the published unit figures of {count} other jurisdictions for {year}, from "
        "the contributions their data-sharing agreements allow. Your jurisdiction's own units "
        "are never part of its national comparison."
    ),
    "national_sources_none": N_(
        "Nation: no other jurisdiction's contribution for {year} allows benchmarks yet."
    ),
    "national_withdrawn": N_(
        "A jurisdiction withdrew its figures on {date}: they are left out of this comparison."
    ),
    "note_benchmark_too_few_jurisdictions": (
        N_(
            "Not published: fewer than {min_jurisdictions} jurisdictions share their figures for "
            "this comparison."
        )
    ),
    "note_benchmark_too_few_units": (
        N_("Not published: fewer than 20 units of this kind to compare.")
    ),
    "note_benchmark_dominant_jurisdiction": (
        N_("Not published: one jurisdiction would hold more than half of the units compared.")
    ),
    "note_benchmark_reveals_jurisdiction": (
        N_("Not published: the figures would give away a single jurisdiction's own result.")
    ),
    "note_no_benchmark": N_("No comparison group."),
    "note_icc2_low": N_("Not ranked: differences between units are not reliable."),
    "trend_note_no_previous": N_("no earlier result"),
    "trend_note_previous_hidden": N_("not shown last year"),
    "trend_note_no_previous_same_items": N_("no comparison: the questions changed"),
    "trend_note_item_hidden": N_("no comparison possible"),
    "trend_note_too_few": N_("no comparison possible"),
    "trend_note_complementary": N_("no comparison possible"),
    "trend_note_unit_hidden": N_("no comparison possible"),
    "percentile_unreliable": N_("not ranked"),
    "percentiles_unreliable_note": (
        N_(
            "“not ranked”: on this scale the differences between units are not reliable "
            "(ICC(2) below .60), so no percentile is given."
        )
    ),
    "items_title": N_("Question by question"),
    "items_intro": (
        N_(
            "Each bar shows the share of negative, neutral and positive answers. Beside it: this "
            "unit's percentage and the same percentage in the whole jurisdiction. "
            "For questions worded the other way round (marked “% who disagree — the safe "
            "answer”), the percentage is the share who disagree."
        )
    ),
    "col_item": N_("Question"),
    "col_this_unit": N_("Here"),
    "col_item_jurisdiction": N_("Jurisdiction"),
    "col_item_national": N_("Nation"),
    "reverse_mark": N_("% who disagree — the safe answer"),
    "strengths_title": N_("Strengths"),
    "strengths_intro": N_("The questions with the best results."),
    "opportunities_title": N_("Opportunities"),
    "opportunities_intro": N_("The questions with the weakest results: good places to start."),
    "agreement_title": N_("Agreement within the team"),
    "agreement_intro": (
        N_(
            "rwg(j) measures how much team members agree with each other, from 0 (no more "
            "agreement than random answers) to 1 (everyone gave the same answers). Below .70, "
            "the average hides very different experiences."
        )
    ),
    "col_rwg": "rwg(j)",
    "col_agreement_note": N_("What it means"),
    "agreement_low": N_("The team sees this differently — talk about it before acting."),
    "agreement_ok": N_("The team largely agrees."),
    "agreement_none": N_("Not available."),
    "agreement_not_judged": N_("Too few people or too little spread to judge agreement."),
    "debrief_title": N_("Guide for the team debrief"),
    "debrief_intro": (
        N_(
            "This report is a starting point for a conversation, not a grade. Plan about an hour "
            "with the whole team, led by someone the team trusts. Here is one way to run it."
        )
    ),
    "debrief_steps": (
        N_(
            "Set the frame (5 minutes)|Say why you are meeting: to understand the results "
            "together and choose one or two things to work on. Remind everyone that answers were "
            "anonymous and that nobody will be asked how they answered."
        ),
        N_(
            "Look at the whole picture (10 minutes)|Walk through the summary page. Ask what "
            "surprises people and what feels right. Start with a strength, so the team sees what "
            "it already does well and can build on."
        ),
        N_(
            "Talk about disagreement (10 minutes)|Where the team sees a scale differently, ask "
            "what different people's weeks look like. Different caseloads, shifts or "
            "supervisors can explain a split; an average alone would hide it."
        ),
        N_(
            "Choose what to work on (20 minutes)|Pick one or two opportunities the team itself "
            "can influence. For each, ask: what gets in the way today? What would a good week "
            "look like? What is one small step we can try in the next month?"
        ),
        N_(
            "Agree on next steps (10 minutes)|Write down who does what by when, and when the "
            "team will check back. Share the plan with the people above you who can remove "
            "obstacles."
        ),
        N_(
            "Keep it safe|Do not guess who gave which answer, and stop the conversation if it "
            "turns into blame. If something in the results points to an urgent safety problem, "
            "raise it with your supervisor or safety lead straight away."
        ),
    ),
    "heatmap_title": N_("Units at a glance"),
    "heatmap_intro": (
        N_(
            "Headline percentage of each unit below {unit} on each scale. Darker purple is "
            "better, darker orange is weaker; for lower-is-better scales a low value is better "
            "and is coloured that way. Units that cannot be shown are included in the unit above."
        )
    ),
    "heatmap_legend_better": N_("better"),
    "heatmap_legend_weaker": N_("weaker"),
    "included_in": N_("included in {parent}"),
    "hidden_too_few": N_("fewer than {min_n} answers — included in {parent}"),
    "hidden_protects_smaller": (
        N_("hidden so that a smaller group cannot be worked out — included in {parent}")
    ),
    "heatmap_unreliable": (
        N_(
            "Left uncoloured: {scales}. On these scales the differences between units are not "
            "reliable (ICC(2) below .60), so the chart does not rank units on them."
        )
    ),
    "not_shown": N_("not shown"),
    "response_rates_title": N_("Response rates"),
    "col_unit": N_("Unit"),
    "col_responses": N_("Responses"),
    "col_invited": N_("Invited"),
    "col_rate": N_("Rate"),
    "appendix_title": N_("Technical appendix"),
    "psychometrics_title": N_("How well the scales measure"),
    "psychometrics_intro": (
        N_(
            "Reliability in {jurisdiction} this year. Alpha and omega above .70 mean the questions "
            "of a scale measure one thing consistently. ICC(1) is the share of differences in "
            "scores that lies between teams; ICC(2) says how reliably teams can be told apart."
        )
    ),
    "col_complete": N_("Complete answers"),
    "col_alpha": N_("Alpha"),
    "col_omega": N_("Omega"),
    "col_status": N_("Status"),
    "col_icc1": "ICC(1)",
    "col_icc2": "ICC(2)",
    "status_published": N_("published"),
    "status_unstable": N_("unstable (fewer than 100 complete answers)"),
    "status_not_shown": N_("not shown (fewer than 30 complete answers)"),
    "alpha_red": N_("low reliability"),
    "alpha_amber": N_("borderline reliability"),
    "icc2_low": N_("Differences between teams not reliably detectable."),
    "comments_title": N_("In their own words"),
    "comments_intro": (
        N_(
            "Comments as written, in alphabetical order, shown only for groups with at least "
            "{min_n} comments. E-mail addresses, phone numbers, case numbers and the names we can "
            "recognise (after a title or role such as “Supervisor”, or a first and last name) are "
            "replaced by “[… removed]”. A first name on its own or other details may remain: "
            "please do not try to work out who wrote what."
        )
    ),
    "page_of": N_("Page"),
    "chart_distribution": N_("{scale}: negative {negative}, neutral {neutral}, {label} {positive}"),
    "chart_distribution_lower": (
        N_("{scale}: {label} {positive}, neutral {neutral}, not reporting it {negative}")
    ),
    "chart_interval": N_("{scale}: score {mean}, 95% interval {interval}, on a scale of 0 to 100"),
    "chart_heatmap": N_(
        "Headline percentage of {count} units on {scales} scales; units "
        "that cannot be shown are listed as included in the unit above"
    ),
    "chart_rate": N_("{unit}: response rate {rate}"),
    "legend_good": N_("favourable answers"),
    "legend_neutral": N_("neutral"),
    "legend_weak": N_("unfavourable answers"),
    "plan_title": N_("The action plan after the {year} survey"),
    "plan_intro": N_(
        "What the team chose to work on after the {year} survey, and how far it got: {done} of "
        "{total} actions done. Beside each focus area is this year's change on that scale."
    ),
    "col_plan_action": N_("Action agreed"),
    "col_plan_owner": N_("Owner (role)"),
    "col_plan_target": N_("Target date"),
    "col_plan_status": N_("Status"),
    "plan_change": N_("change since {year}"),
    "plan_change_not_shown": N_("not shown this year"),
    "plan_no_actions": N_("No actions were recorded for this focus area."),
    "plan_status_planned": N_("planned"),
    "plan_status_under_way": N_("under way"),
    "plan_status_done": N_("done"),
    "plan_status_dropped": N_("dropped"),
    "heatmap_legend_alt": (
        N_("Colour key: six shades from weaker (dark orange) to better (dark purple)")
    ),
}


class _Translated(Mapping[str, "str | tuple[str, ...]"]):
    """The sentences of :data:`_EN`, each looked up in one language's catalog."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __getitem__(self, key: str) -> str | tuple[str, ...]:
        english = _EN[key]
        if isinstance(english, tuple):
            return tuple(catalog.translate(self.language, part) for part in english)
        return catalog.translate(self.language, english)

    def __iter__(self) -> Iterator[str]:
        return iter(_EN)

    def __len__(self) -> int:
        return len(_EN)


def english_msgids() -> tuple[str, ...]:
    """Every English sentence of the reports (tests compare a PDF's text with them)."""
    found: list[str] = []
    for value in _EN.values():
        found.extend(value if isinstance(value, tuple) else (value,))
    return tuple(found)


def strings_for(language: str) -> Strings:
    """The report wording in ``language`` (KeyError if the language has no catalog)."""
    if language not in catalog.catalog_languages():
        raise KeyError(language)
    return _Translated(language)


def positive_label(title: str, higher_is_better: bool, language: str = "en") -> str:
    """What a scale's headline percentage counts: "% positive", or "% reporting <title>"."""
    if higher_is_better:
        return catalog.translate(language, "% positive")
    return catalog.translate(language, "% reporting {scale}").format(scale=title.lower())


# The two labels above, marked for extraction (they are looked up where they are used).
_LABELS = (N_("% positive"), N_("% reporting {scale}"))

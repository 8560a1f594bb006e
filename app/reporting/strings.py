"""The fixed wording of the reports, per language (English now; add a dict to add a language).

Templates take every sentence from here; numbers are filled in with ``str.format``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

Strings = Mapping[str, str | tuple[str, ...]]

_EN: dict[str, str | tuple[str, ...]] = {
    "survey_name": "Team Safety Culture Survey",
    "author": "{jurisdiction} · Team Safety Culture Survey",
    "report_title_team": "{unit}: team safety culture report {year}",
    "report_title_unit": "{unit}: safety culture report {year}",
    "team_report": "Team report",
    "unit_report": "{unit_kind} report",
    "wave": "Survey {year}",
    "part_of": "Part of",
    "jurisdiction": "Jurisdiction",
    "responses": "Responses",
    "responses_of": "{responses} of {invited} invited",
    "response_rate": "Response rate",
    "generated": "Produced on {date}",
    "language_note": "This report is available in English. Other languages can be added.",
    "confidentiality_title": "Confidentiality",
    "confidentiality": (
        "Answers are anonymous. Nobody, including supervisors and administrators, can see who "
        "answered what. Results are shown only for groups of at least {min_n} people, and "
        "smaller groups are folded into the unit above them so that they cannot be worked "
        "out by subtraction; some units of {min_n} or more are hidden too, for the same "
        "reason. Please do not try to guess who gave which answer, and do not share this "
        "report outside the people it was written for."
    ),
    "straightlining": (
        "{count} response(s) giving the same answer to every question were left out of the results."
    ),
    "blank_responses": (
        "{blank} response(s) were sent with no answer and {comment_only} with only a comment: "
        "they are not in the figures."
    ),
    "how_to_read_title": "How to read this report",
    "how_to_read": (
        "For each question, answers are grouped as negative, neutral or positive. For "
        "questions worded the other way round, the percentage shown is the share who "
        "disagree — the safe answer. A scale's percentage is the average of the percentages "
        "of its questions shown here, with the range where the true value most likely lies "
        "(95% interval); with few people that range is wide. The score is the average answer "
        "on a 0–100 scale, with its 95% interval. A percentile of 70th means the result is "
        "better than that of 70% of the units in the comparison group."
    ),
    "lower_is_better_note": (
        "Some scales measure something where agreeing is bad, such as emotional exhaustion. "
        "They are labelled for what they count, and a lower number is better there: colours, "
        "arrows, percentiles, strengths and opportunities all take that into account."
    ),
    "summary_title": "Summary",
    "summary_intro": "{unit}, {year}: every scale at a glance. Percentages are averages across "
    "the scale's items.",
    "col_scale": "Scale",
    "col_distribution": "Negative / neutral / positive",
    "col_headline": "Headline (95% interval)",
    "col_score": "Score (95% interval)",
    "col_change": "Change since {year}",
    "col_change_none": "Change",
    "col_pct_jurisdiction": "Percentile, juris\u00addiction",
    "col_pct_national": "Percentile, nation",
    "lower_is_better": "lower is better",
    "suppressed_too_few": "Fewer than {min_n} answers: not shown",
    "suppressed_protects_smaller": "Hidden so that a smaller group cannot be worked out",
    "no_trend": "no earlier result",
    "trend_interval": "95% interval {interval}",
    "trend_no_interval": "no interval possible",
    "trend_clear_better": "clear improvement",
    "trend_clear_worse": "clear decline",
    "trend_no_clear_change": "no clear change",
    "arrow_better": "▲",
    "arrow_worse": "▼",
    "arrow_flat": "▶",
    "change_explained": (
        "Change: the difference from last year in percentage points, with its 95% interval. "
        "It is called a clear change only when it is at least 5 points and its interval, "
        "widened for looking at every scale at once (Holm), leaves out zero; otherwise the "
        "report says “no clear change”: with few people, differences of this size happen by "
        "chance."
    ),
    "benchmarks_title": "Benchmarks",
    "benchmarks_intro": (
        "How teams' percentages are spread in each comparison group: 10% of teams are below "
        "p10, half are below the median, 90% are below p90. Every team counts equally."
    ),
    "col_group": "Group",
    "col_p10": "p10",
    "col_p25": "p25",
    "col_median": "median",
    "col_p75": "p75",
    "col_p90": "p90",
    "col_teams": "Teams",
    "col_jurisdictions": "Juris\u00addictions",
    "group_jurisdiction": "Jurisdiction",
    "group_national": "Nation",
    "benchmarks_unavailable": "{group}: {reason}",
    "national_sources": (
        "Nation: the published unit figures of {count} other jurisdictions for {year}, from "
        "the contributions their data-sharing agreements allow. Your jurisdiction's own units "
        "are never part of its national comparison."
    ),
    "national_sources_none": (
        "Nation: no other jurisdiction's contribution for {year} allows benchmarks yet."
    ),
    "national_withdrawn": (
        "A jurisdiction withdrew its figures on {date}: they are left out of this comparison."
    ),
    "note_benchmark_too_few_jurisdictions": (
        "Not published: fewer than {min_jurisdictions} jurisdictions share their figures for "
        "this comparison."
    ),
    "note_benchmark_too_few_units": ("Not published: fewer than 20 units of this kind to compare."),
    "note_benchmark_dominant_jurisdiction": (
        "Not published: one jurisdiction would hold more than half of the units compared."
    ),
    "note_benchmark_reveals_jurisdiction": (
        "Not published: the figures would give away a single jurisdiction's own result."
    ),
    "note_no_benchmark": "No comparison group.",
    "note_icc2_low": "Not ranked: differences between units are not reliable.",
    "trend_note_no_previous": "no earlier result",
    "trend_note_previous_hidden": "not shown last year",
    "trend_note_no_previous_same_items": "no comparison: the questions changed",
    "trend_note_item_hidden": "no comparison possible",
    "trend_note_too_few": "no comparison possible",
    "trend_note_complementary": "no comparison possible",
    "trend_note_unit_hidden": "no comparison possible",
    "percentile_unreliable": "not ranked",
    "percentiles_unreliable_note": (
        "“not ranked”: on this scale the differences between units are not reliable "
        "(ICC(2) below .60), so no percentile is given."
    ),
    "items_title": "Question by question",
    "items_intro": (
        "Each bar shows the share of negative, neutral and positive answers. Beside it: this "
        "unit's percentage and the same percentage in the whole jurisdiction. "
        "For questions worded the other way round (marked “% who disagree — the safe "
        "answer”), the percentage is the share who disagree."
    ),
    "col_item": "Question",
    "col_this_unit": "Here",
    "col_item_jurisdiction": "Jurisdiction",
    "col_item_national": "Nation",
    "reverse_mark": "% who disagree — the safe answer",
    "strengths_title": "Strengths",
    "strengths_intro": "The questions with the best results.",
    "opportunities_title": "Opportunities",
    "opportunities_intro": "The questions with the weakest results: good places to start.",
    "agreement_title": "Agreement within the team",
    "agreement_intro": (
        "rwg(j) measures how much team members agree with each other, from 0 (no more "
        "agreement than random answers) to 1 (everyone gave the same answers). Below .70, "
        "the average hides very different experiences."
    ),
    "col_rwg": "rwg(j)",
    "col_agreement_note": "What it means",
    "agreement_low": "The team sees this differently — talk about it before acting.",
    "agreement_ok": "The team largely agrees.",
    "agreement_none": "Not available.",
    "agreement_not_judged": "Too few people or too little spread to judge agreement.",
    "debrief_title": "Guide for the team debrief",
    "debrief_intro": (
        "This report is a starting point for a conversation, not a grade. Plan about an hour "
        "with the whole team, led by someone the team trusts. Here is one way to run it."
    ),
    "debrief_steps": (
        "Set the frame (5 minutes)|Say why you are meeting: to understand the results "
        "together and choose one or two things to work on. Remind everyone that answers were "
        "anonymous and that nobody will be asked how they answered.",
        "Look at the whole picture (10 minutes)|Walk through the summary page. Ask what "
        "surprises people and what feels right. Start with a strength, so the team sees what "
        "it already does well and can build on.",
        "Talk about disagreement (10 minutes)|Where the team sees a scale differently, ask "
        "what different people's weeks look like. Different caseloads, shifts or "
        "supervisors can explain a split; an average alone would hide it.",
        "Choose what to work on (20 minutes)|Pick one or two opportunities the team itself "
        "can influence. For each, ask: what gets in the way today? What would a good week "
        "look like? What is one small step we can try in the next month?",
        "Agree on next steps (10 minutes)|Write down who does what by when, and when the "
        "team will check back. Share the plan with the people above you who can remove "
        "obstacles.",
        "Keep it safe|Do not guess who gave which answer, and stop the conversation if it "
        "turns into blame. If something in the results points to an urgent safety problem, "
        "raise it with your supervisor or safety lead straight away.",
    ),
    "heatmap_title": "Units at a glance",
    "heatmap_intro": (
        "Headline percentage of each unit below {unit} on each scale. Darker purple is "
        "better, darker orange is weaker; for lower-is-better scales a low value is better "
        "and is coloured that way. Units that cannot be shown are included in the unit above."
    ),
    "heatmap_legend_better": "better",
    "heatmap_legend_weaker": "weaker",
    "included_in": "included in {parent}",
    "hidden_too_few": "fewer than {min_n} answers — included in {parent}",
    "hidden_protects_smaller": (
        "hidden so that a smaller group cannot be worked out — included in {parent}"
    ),
    "heatmap_unreliable": (
        "Left uncoloured: {scales}. On these scales the differences between units are not "
        "reliable (ICC(2) below .60), so the chart does not rank units on them."
    ),
    "not_shown": "not shown",
    "response_rates_title": "Response rates",
    "col_unit": "Unit",
    "col_responses": "Responses",
    "col_invited": "Invited",
    "col_rate": "Rate",
    "appendix_title": "Technical appendix",
    "psychometrics_title": "How well the scales measure",
    "psychometrics_intro": (
        "Reliability in {jurisdiction} this year. Alpha and omega above .70 mean the questions "
        "of a scale measure one thing consistently. ICC(1) is the share of differences in "
        "scores that lies between teams; ICC(2) says how reliably teams can be told apart."
    ),
    "col_complete": "Complete answers",
    "col_alpha": "Alpha",
    "col_omega": "Omega",
    "col_status": "Status",
    "col_icc1": "ICC(1)",
    "col_icc2": "ICC(2)",
    "status_published": "published",
    "status_unstable": "unstable (fewer than 100 complete answers)",
    "status_not_shown": "not shown (fewer than 30 complete answers)",
    "alpha_red": "low reliability",
    "alpha_amber": "borderline reliability",
    "icc2_low": "Differences between teams not reliably detectable.",
    "comments_title": "In their own words",
    "comments_intro": (
        "Comments as written, in alphabetical order, shown only for groups with at least "
        "{min_n} comments. E-mail addresses, phone numbers, case numbers and the names we can "
        "recognise (after a title or role such as “Supervisor”, or a first and last name) are "
        "replaced by “[… removed]”. A first name on its own or other details may remain: "
        "please do not try to work out who wrote what."
    ),
    "page_of": "Page",
    "chart_distribution": "{scale}: negative {negative}, neutral {neutral}, {label} {positive}",
    "chart_distribution_lower": (
        "{scale}: {label} {positive}, neutral {neutral}, not reporting it {negative}"
    ),
    "chart_interval": "{scale}: score {mean}, 95% interval {interval}, on a scale of 0 to 100",
    "chart_heatmap": "Headline percentage of {count} units on {scales} scales; units "
    "that cannot be shown are listed as included in the unit above",
    "chart_rate": "{unit}: response rate {rate}",
    "legend_good": "favourable answers",
    "legend_neutral": "neutral",
    "legend_weak": "unfavourable answers",
    "plan_title": "The action plan after the {year} survey",
    "plan_intro": (
        "What the team chose to work on after the {year} survey, and how far it got: {done} of "
        "{total} actions done. Beside each focus area is this year's change on that scale."
    ),
    "col_plan_action": "Action agreed",
    "col_plan_owner": "Owner (role)",
    "col_plan_target": "Target date",
    "col_plan_status": "Status",
    "plan_change": "change since {year}",
    "plan_change_not_shown": "not shown this year",
    "plan_no_actions": "No actions were recorded for this focus area.",
    "plan_status_planned": "planned",
    "plan_status_under_way": "under way",
    "plan_status_done": "done",
    "plan_status_dropped": "dropped",
    "heatmap_legend_alt": (
        "Colour key: six shades from weaker (dark orange) to better (dark purple)"
    ),
}

_LANGUAGES: dict[str, Strings] = {"en": MappingProxyType(_EN)}

#: Languages a report can be written in.
LANGUAGES: tuple[str, ...] = tuple(_LANGUAGES)


def strings_for(language: str) -> Strings:
    """The report wording in ``language`` (KeyError if there is none)."""
    return _LANGUAGES[language]


def positive_label(title: str, higher_is_better: bool, language: str = "en") -> str:
    """What a scale's headline percentage counts: "% positive", or "% reporting <title>"."""
    if language != "en":
        raise KeyError(language)
    return "% positive" if higher_is_better else f"% reporting {title.lower()}"

"""The action plan form: three focus-area slots with three action slots each (no script)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FieldList, Form, FormField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.services.plans import (
    MAX_ACTIONS,
    MAX_FOCUS_AREAS,
    MAX_OWNER,
    MAX_TEXT,
    ActionInput,
    FocusInput,
)

STATUSES = [
    SelectChoice("planned", _l("Planned")),
    SelectChoice("under_way", _l("Under way")),
    SelectChoice("done", _l("Done")),
    SelectChoice("dropped", _l("Dropped")),
]


class ActionFields(Form):  # type: ignore[misc]
    text = StringField(_l("What the team will do"), validators=[Length(max=MAX_TEXT)])
    owner = StringField(
        _l("Owner (a role, not a name: e.g. supervisor)"), validators=[Length(max=MAX_OWNER)]
    )
    target = DateField(_l("Target date"), validators=[Optional()])
    # Choices are checked by the service: slots left out of a post must not fail here.
    status = SelectField(_l("Status"), choices=STATUSES, default="planned", validate_choice=False)


class FocusFields(Form):  # type: ignore[misc]
    scale = SelectField(_l("Focus area"), validate_choice=False)
    actions = FieldList(FormField(ActionFields), min_entries=MAX_ACTIONS, max_entries=MAX_ACTIONS)


class PlanForm(FlaskForm):  # type: ignore[misc]
    focus = FieldList(
        FormField(FocusFields), min_entries=MAX_FOCUS_AREAS, max_entries=MAX_FOCUS_AREAS
    )

    def offer(self, scales: tuple[tuple[str, str], ...]) -> None:
        """Let each slot choose one of the wave's scales (or none)."""
        for entry in self.focus:
            entry.form.scale.choices = [SelectChoice("", _l("— none —"))] + [
                SelectChoice(key, title) for key, title in scales
            ]

    def inputs(self) -> list[FocusInput]:
        """The filled slots, in order: empty focus areas and empty action rows are skipped."""
        chosen = []
        for entry in self.focus:
            fields = entry.form
            if not fields.scale.data:
                continue
            actions = tuple(
                ActionInput(
                    text=a.form.text.data or "",
                    owner_role=a.form.owner.data or "",
                    target_date=a.form.target.data,
                    status=a.form.status.data or "planned",
                )
                for a in fields.actions
                if (a.form.text.data or "").strip() or (a.form.owner.data or "").strip()
            )
            chosen.append(FocusInput(scale_key=fields.scale.data, actions=actions))
        return chosen

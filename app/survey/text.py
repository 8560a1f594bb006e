"""The survey pages' own words in English and Spanish (the instrument brings its questions)."""

from __future__ import annotations

from datetime import date

from app.dates import long_date

LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "skip": "Skip to the questions",
        "language_switch": "Leer en español",
        "privacy_link": "Privacy: what we store",
        "section_of": "Section {n} of {total}",
        "last_page_of": "Last page ({n} of {total})",
        "about_you": "About you (optional)",
        "about_you_hint": "These questions help compare groups. Skip any of them.",
        "comment_hint": "Up to {max} characters. Optional.",
        "optional_all": "Every question is optional: skip any you prefer not to answer.",
        "back": "Back",
        "next": "Save and continue",
        "submit": "Send my answers",
        "start": "Start the survey",
        "resume": "Continue where I stopped",
        "before_you_start": "Before you start",
        "note_stored": (
            "We store your answers without your name, email or any link to your invitation. "
            "We do not store when you answered, your device, or your internet address."
        ),
        "note_threshold": (
            "Results are shown only for groups of at least {n} people, and written comments "
            "only for groups of at least {comment_n}."
        ),
        "note_draft": (
            "Your answers are saved, locked with your personal link, each time you go to the "
            "next section. Open the link again on any device to continue."
        ),
        "note_reminders": (
            "Reminder emails go only to people who have not answered yet, so the survey office "
            "can tell whether you answered, but never what you answered."
        ),
        "more_privacy": "How your privacy is protected",
        "error_title": "There is a problem",
        "error_intro": "Nothing on this page was saved. Please check:",
        "err_value": "Choose one of the answers listed for this question.",
        "err_repeated": "This question was answered more than once. Choose one answer.",
        "err_unknown": "The form contained a question that is not on this page.",
        "err_comment_long": (
            "Your comment has {length} characters; the limit is {max}. Please shorten it."
        ),
        "err_nav": "The form was sent in an unexpected way. Please use the buttons below.",
        "closed_title": "This survey is closed",
        "closed_body": "The survey closed on {date}. Answers can no longer be sent. Thank you.",
        "unavailable_title": "Please try again in a moment",
        "unavailable_body": (
            "The survey lost its connection for a moment. Your answers are kept: nothing was "
            "half saved. Please go back and send the page again in a few seconds."
        ),
        "done_title": "You have already answered",
        "done_body": "You have already answered this survey. Thank you for taking part.",
        "thanks_title": "Thank you",
        "thanks_body": (
            "Your answers have been received. They are stored without your name and will be "
            "shown only as part of group results."
        ),
        "thanks_close": "You can now close this page.",
        "notfound_title": "Page not found",
        "notfound_body": (
            "We could not find this page. If you followed a survey link, open it again from "
            "your email, copying the whole address."
        ),
        "nolink_title": "Open your personal link",
        "nolink_body": "To answer the survey, open the personal link from your invitation email.",
        "badrequest_title": "The form could not be accepted",
        "badrequest_body": (
            "The page had expired or the form was incomplete. Nothing was saved. Please go back, "
            "reload the page and try again."
        ),
        "toolarge_title": "Too much text",
        "toolarge_body": "The form sent more data than a survey page accepts. Nothing was saved.",
        "ratelimit_title": "Too many attempts",
        "ratelimit_body": (
            "Too many survey links were tried from your connection. Please wait a few minutes "
            "and open your link again."
        ),
        "not_applicable_default": "Does not apply / Don't know",
        "privacy_title": "Privacy in the staff survey",
    },
    "es": {
        "skip": "Ir a las preguntas",
        "language_switch": "Read in English",
        "privacy_link": "Privacidad: qué guardamos",
        "section_of": "Sección {n} de {total}",
        "last_page_of": "Última página ({n} de {total})",
        "about_you": "Sobre usted (opcional)",
        "about_you_hint": "Estas preguntas ayudan a comparar grupos. Puede omitir cualquiera.",
        "comment_hint": "Hasta {max} caracteres. Opcional.",
        "optional_all": "Todas las preguntas son opcionales: omita las que prefiera no contestar.",
        "back": "Atrás",
        "next": "Guardar y continuar",
        "submit": "Enviar mis respuestas",
        "start": "Empezar la encuesta",
        "resume": "Seguir donde lo dejé",
        "before_you_start": "Antes de empezar",
        "note_stored": (
            "Guardamos sus respuestas sin su nombre, su correo ni ningún vínculo con su "
            "invitación. No guardamos cuándo respondió, su dispositivo ni su dirección de internet."
        ),
        "note_threshold": (
            "Los resultados solo se muestran para grupos de al menos {n} personas, y los "
            "comentarios escritos solo para grupos de al menos {comment_n}."
        ),
        "note_draft": (
            "Sus respuestas se guardan, protegidas con su enlace personal, cada vez que pasa a la "
            "siguiente sección. Abra el enlace otra vez en cualquier dispositivo para continuar."
        ),
        "note_reminders": (
            "Los recordatorios solo se envían a quienes aún no han respondido: la oficina de la "
            "encuesta puede saber si usted respondió, pero nunca qué respondió."
        ),
        "more_privacy": "Cómo se protege su privacidad",
        "error_title": "Hay un problema",
        "error_intro": "No se guardó nada de esta página. Revise lo siguiente:",
        "err_value": "Elija una de las respuestas de esta pregunta.",
        "err_repeated": "Esta pregunta recibió más de una respuesta. Elija solo una.",
        "err_unknown": "El formulario contenía una pregunta que no está en esta página.",
        "err_comment_long": (
            "Su comentario tiene {length} caracteres; el límite es {max}. Por favor, acórtelo."
        ),
        "err_nav": "El formulario se envió de forma inesperada. Use los botones de abajo.",
        "closed_title": "Esta encuesta está cerrada",
        "closed_body": "La encuesta cerró el {date}. Ya no se pueden enviar respuestas. Gracias.",
        "unavailable_title": "Vuelva a intentarlo en un momento",
        "unavailable_body": (
            "La encuesta perdió la conexión por un momento. Sus respuestas se conservan: nada "
            "quedó guardado a medias. Vuelva atrás y envíe la página de nuevo en unos segundos."
        ),
        "done_title": "Usted ya respondió",
        "done_body": "Usted ya respondió esta encuesta. Gracias por participar.",
        "thanks_title": "Gracias",
        "thanks_body": (
            "Recibimos sus respuestas. Se guardan sin su nombre y solo se mostrarán como parte "
            "de los resultados de un grupo."
        ),
        "thanks_close": "Ya puede cerrar esta página.",
        "notfound_title": "Página no encontrada",
        "notfound_body": (
            "No encontramos esta página. Si siguió un enlace de la encuesta, ábralo de nuevo "
            "desde su correo, copiando la dirección completa."
        ),
        "nolink_title": "Abra su enlace personal",
        "nolink_body": (
            "Para responder la encuesta, abra el enlace personal de su correo de invitación."
        ),
        "badrequest_title": "No se pudo aceptar el formulario",
        "badrequest_body": (
            "La página había caducado o el formulario estaba incompleto. No se guardó nada. "
            "Vuelva atrás, recargue la página e inténtelo de nuevo."
        ),
        "toolarge_title": "Demasiado texto",
        "toolarge_body": (
            "El formulario envió más datos de los que acepta una página de la encuesta. "
            "No se guardó nada."
        ),
        "ratelimit_title": "Demasiados intentos",
        "ratelimit_body": (
            "Se probaron demasiados enlaces desde su conexión. Espere unos minutos y vuelva a "
            "abrir su enlace."
        ),
        "not_applicable_default": "No aplica / No sé",
        "privacy_title": "Privacidad en la encuesta al personal",
    },
}


def format_date(day_month_year: tuple[int, int, int], language: str) -> str:
    """A date in words: '14 December 2026' / '14 de diciembre de 2026'."""
    day, month, year = day_month_year
    return long_date(date(year, month, day), language)

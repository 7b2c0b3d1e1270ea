"""Workflow errors. Each carries a `code`; `app.i18n.error_message` turns it into a
translated sentence for the user."""


class WorkflowError(Exception):
    code = "workflow_error"

    def __init__(self, detail: str = "", **info):
        super().__init__(detail or self.code)
        self.detail = detail
        self.info = info


class InvalidTransition(WorkflowError):
    """The action does not exist for this kind of case in its current state."""

    code = "invalid_transition"


class NotYet(InvalidTransition):
    """The action exists for this state, but only once something has happened to the
    case (a row's `requires`: an office ticket is confirmed solved only once answered)."""

    code = "not_yet"


class NotAllowed(WorkflowError):
    """The actor may not take this action on this case."""

    code = "not_allowed"


class NotAtThisLevel(WorkflowError):
    """The action exists, but not at the level (kind of office) that holds the case."""

    code = "not_at_this_level"


class ChangedMeanwhile(WorkflowError):
    """Somebody else changed the case since the actor loaded it."""

    code = "changed_meanwhile"


class MissingInput(WorkflowError):
    """The action needs a text, a target office or a target person."""

    code = "missing_input"


class AlreadyDone(WorkflowError):
    """A once-only step (such as rating) has already been taken."""

    code = "already_done"


class BadTarget(WorkflowError):
    """The chosen office or person cannot receive this case."""

    code = "bad_target"

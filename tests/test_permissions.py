"""The object checks in core.permissions, which every later stage's views call."""
from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin
from werkzeug.exceptions import NotFound

from judging.core.permissions import can_see_school, require_school


def test_coordinator_sees_only_his_own_school(make_user, make_school):
    own, other = make_school("本校"), make_school("外校")
    coordinator = make_user("coordinator", school=own)
    assert can_see_school(coordinator, own.id)
    assert not can_see_school(coordinator, other.id)
    assert not can_see_school(coordinator, None)


def test_organizer_sees_every_school_and_judges_none(make_user, make_school):
    school = make_school()
    assert can_see_school(make_user("organizer"), school.id)
    assert not can_see_school(make_user("judge", school=school), school.id)  # a judge's affiliation is for recusal only
    assert not can_see_school(AnonymousUserMixin(), school.id)


def test_require_school_answers_404_not_403(app, make_user, make_school):
    own, other = make_school("本校"), make_school("外校")
    coordinator = make_user("coordinator", school=own)
    from flask_login import login_user

    with app.test_request_context():
        login_user(coordinator)
        require_school(own.id)
        with pytest.raises(NotFound):
            require_school(other.id)

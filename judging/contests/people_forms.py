"""Forms of the schools and accounts pages. Shape only (lengths, required); the rules (unique
names, coordinator needs a school, last organizer ...) live in people_operations, once."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from judging.contests.people_operations import (
    AFFILIATION_MAX,
    CLUSTER_MAX,
    CODE_MAX,
    DISPLAY_NAME_MAX,
    NAME_MAX,
    PHONE_MAX,
    USERNAME_MAX,
)
from judging.core.i18n import N_
from judging.core.models import ROLE_LABELS

NO_CHOICE = 0


class ChoiceField(SelectField):
    """A select whose "not a valid choice" message is Chinese and names the field."""

    def __init__(self, *args, invalid_message: str = "请从列表中选择", **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form):
        if self.data not in {value for value, *_ in self.choices}:
            raise ValidationError(self.invalid_message)


def _optional_int(value):
    """SelectField coercion that tolerates a blank or tampered value (it then fails the choice check)."""
    if value in (None, ""):
        return NO_CHOICE
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class SchoolForm(FlaskForm):
    name = StringField(N_("学校名称"), validators=[DataRequired("请填写学校名称"),
                                            Length(max=NAME_MAX, message=f"学校名称最多{NAME_MAX}个字")])
    code = StringField(N_("学校代码"), validators=[Optional(), Length(max=CODE_MAX, message=f"代码最多{CODE_MAX}个字符")],
                       description=N_("选填，不能与其他学校重复"))
    cluster = StringField(N_("片区"), validators=[Optional(), Length(max=CLUSTER_MAX, message=f"片区最多{CLUSTER_MAX}个字")],
                          description=N_("选填，例如 城关片区"))
    parent_id = ChoiceField(N_("上级学校（中心校）"), coerce=_optional_int, invalid_message="请从列表中选择上级学校",
                            description=N_("村小选择它所属的中心校；中心校或独立学校不选"))

    def __init__(self, *args, parent_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_id.choices = [(NO_CHOICE, "（无）")] + [(s.id, s.name) for s in parent_options]


class UserForm(FlaskForm):
    username = StringField(N_("用户名"), validators=[DataRequired("请填写用户名"),
                                              Length(max=USERNAME_MAX, message=f"用户名最多{USERNAME_MAX}个字符")],
                           description=N_("登录用，不区分大小写，不含空格"))
    display_name = StringField(N_("姓名"), validators=[DataRequired("请填写姓名"),
                                                 Length(max=DISPLAY_NAME_MAX, message=f"姓名最多{DISPLAY_NAME_MAX}个字")])
    role = ChoiceField(N_("角色"), choices=list(ROLE_LABELS.items()), invalid_message="请选择角色")
    school_id = ChoiceField(N_("学校"), coerce=_optional_int, invalid_message="请从列表中选择学校",
                            description=N_("学校管理员必选；评委选择所在学校，评审时自动回避本校作品"))
    affiliation = StringField(N_("单位"), validators=[Optional(), Length(max=AFFILIATION_MAX,
                                                                    message=f"单位最多{AFFILIATION_MAX}个字")],
                              description=N_("评委的工作单位（不是系统中的学校时填写）"))
    phone = StringField(N_("手机"), validators=[Optional(), Length(max=PHONE_MAX, message=f"手机号码最多{PHONE_MAX}个字符")])
    active = BooleanField(N_("启用账号（停用后不能登录）"), default=True)
    password = PasswordField(N_("初始密码"), validators=[Optional(), Length(max=200, message="密码过长")],
                             description=N_("留空则由系统生成；至少8位，同时包含字母和数字。首次登录须修改"))

    def __init__(self, *args, school_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.school_id.choices = [(NO_CHOICE, "（无）")] + [(s.id, s.name) for s in school_options]


class ImportUploadForm(FlaskForm):
    file = FileField(N_("Excel文件（.xlsx）"), validators=[FileRequired("请选择要导入的Excel文件")])


class ImportConfirmForm(FlaskForm):
    token = HiddenField()

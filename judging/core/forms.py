from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from judging.core.i18n import N_
from judging.core.security import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField(N_("用户名"), validators=[DataRequired("请输入用户名"), Length(max=60)])
    password = PasswordField(N_("密码"), validators=[DataRequired("请输入密码"), Length(max=200)])
    submit = SubmitField(N_("登录"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(N_("当前密码"), validators=[DataRequired("请输入当前密码")])
    new = PasswordField(
        "新密码",
        validators=[DataRequired("请输入新密码"), Length(min=MIN_PASSWORD_LENGTH, max=200,
                                                      message=f"密码至少需要{MIN_PASSWORD_LENGTH}位")],
    )
    confirm = PasswordField(N_("再次输入新密码"), validators=[EqualTo("new", "两次输入的新密码不一致")])
    submit = SubmitField(N_("修改密码"))

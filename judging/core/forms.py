from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from judging.core.security import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200)])
    submit = SubmitField("登录")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])
    new = PasswordField(
        "新密码",
        validators=[DataRequired("请输入新密码"), Length(min=MIN_PASSWORD_LENGTH, max=200,
                                                      message=f"密码至少需要{MIN_PASSWORD_LENGTH}位")],
    )
    confirm = PasswordField("再次输入新密码", validators=[EqualTo("new", "两次输入的新密码不一致")])
    submit = SubmitField("修改密码")

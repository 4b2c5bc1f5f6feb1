package audit

// Actions of one-time user links and of a user's own settings.
const (
	UserInvite         = "user.invite"          // an invitation link was issued (new or pending user)
	UserResetLink      = "user.reset_link"      // a password reset link was issued
	UserInviteAccept   = "user.invite_accept"   // the invited user set their first password
	UserPasswordReset  = "user.password_reset"  // a password was set through a reset link
	UserChangePassword = "user.change_password" // a user changed their own password
)

"""The signed-in user's own account: optional two-factor sign-in (an authenticator app's codes, with backup
codes for a lost phone) and the sign-in that asks for the code after the password."""

from django.shortcuts import redirect

from accounts.models import Role

from .access import authenticated

HOME_BY_ROLE = {
    Role.CONTRACTOR: "work:dashboard",
    Role.LEAD: "lead:home",
    Role.ADMIN: "manage:home",
}


@authenticated
def home(request):
    """Send each person to the home page of their role."""
    return redirect(HOME_BY_ROLE[request.user.role])

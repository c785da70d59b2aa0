from django.contrib import messages
from django.shortcuts import redirect, render

from taskhub.access import authenticated

from .forms import ProfileForm


@authenticated
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    qualifications = request.user.qualifications.select_related("project").order_by("-granted_at")
    return render(request, "account/profile.html", {"form": form, "qualifications": qualifications},
                  status=400 if form.errors else 200)

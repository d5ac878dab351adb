from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class DefaultPagination(PageNumberPagination):
    """Every list is paginated: ``?page=N&page_size=M`` (at most 500 a page)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None or value == "":
            return self.page_size
        # A page size that is not a positive whole number is said, not silently replaced by
        # the default; a large one is capped.
        digits = value.lstrip("0") if value.isascii() and value.isdigit() else ""
        if not digits:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"A whole number from 1 to {self.max_page_size} (got '{value[:40]}')."
                    ]
                }
            )
        return self.max_page_size if len(digits) > 6 else min(int(digits), self.max_page_size)

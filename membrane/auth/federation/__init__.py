"""Federation: the identity providers of organizations, through which their people sign in."""

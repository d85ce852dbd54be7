"""A minimal Django project logging in with social-auth-app-django's WeChat backend: the benchmark's peer."""
